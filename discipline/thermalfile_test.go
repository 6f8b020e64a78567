package discipline

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
)

func TestParseMilliCelsius(t *testing.T) {
	for in, want := range map[string]float64{"45123\n": 45.123, "0": 0, "-5500\n": -5.5, "149999": 149.999} {
		if got, err := ParseMilliCelsius([]byte(in)); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "45.1\n", "abc", "45123\n\n", " 45123", "200000", "-70000", "99999999999999"} {
		if got, err := ParseMilliCelsius([]byte(in)); err == nil {
			t.Errorf("%q accepted as %v", in, got)
		}
	}
}

func FuzzParseMilliCelsius(f *testing.F) {
	for _, s := range []string{"45123\n", "-1", "", "1e3", "+5"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseMilliCelsius(b)
		if err == nil && (c < minTempC || c > maxTempC) {
			t.Fatalf("%q: %v accepted outside the range", b, c)
		}
	})
}

// TestReadTemperature: a regular file is read; a FIFO, a directory and an
// oversized file are refused without blocking.
func TestReadTemperature(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "temp")
	if err := os.WriteFile(p, []byte("51234\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadTemperature(p); err != nil || c != 51.234 {
		t.Errorf("regular file: %v, %v", c, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTemperature(fifo); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("fifo: %v", err)
	}
	if _, err := ReadTemperature(dir); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("1"), 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTemperature(big); !errors.Is(err, safefile.ErrTooLarge) {
		t.Errorf("big file: %v", err)
	}
	// This machine's own sensor, where it has one, parses.
	if _, err := os.Stat(DefaultTemperatureFile); err == nil {
		if c, err := ReadTemperature(DefaultTemperatureFile); err != nil {
			t.Errorf("%s: %v", DefaultTemperatureFile, err)
		} else {
			t.Logf("%s: %.3f °C", DefaultTemperatureFile, c)
		}
	}
}

// TestRunnerTemperatureErrors: a sensor that fails is counted and logged
// once at warn, and when it reads again that is logged once too.
func TestRunnerTemperatureErrors(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	loop, err := NewLoop(DefaultConfig(), NewSimClock(SimClockConfig{}, time.Now), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, loop, "", log)
	p := filepath.Join(t.TempDir(), "temp")
	r.SetTemperatureFile(p)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r.readTemperature(t0)
	r.readTemperature(t0.Add(time.Second))
	if got, ok := r.Temperature(); !ok || got.Valid || got.ReadErrors != 2 || got.File != p {
		t.Errorf("published %+v, %v after two failed reads; want not valid, 2 errors", got, ok)
	}
	if err := os.WriteFile(p, []byte("40000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.readTemperature(t0.Add(2 * time.Second))
	if got, _ := r.Temperature(); got.ReadErrors != 2 {
		t.Errorf("%d errors counted, want 2", got.ReadErrors)
	}
	if got := strings.Count(logs.String(), "temperature not read"); got != 1 {
		t.Errorf("failure logged %d times:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "temperature read again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// TestRunnerPublishesTemperature: the Runner publishes each reading for
// other goroutines, keeps the last valid one through a failure, and copies
// the loop's fit only every TempFitPublishEvery.
func TestRunnerPublishesTemperature(t *testing.T) {
	loop, err := NewLoop(DefaultConfig(), NewSimClock(SimClockConfig{}, time.Now), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, loop, "", nil)
	if _, ok := r.Temperature(); ok {
		t.Error("a temperature published with no file set")
	}
	p := filepath.Join(t.TempDir(), "temp")
	r.SetTemperatureFile(p)
	if got, ok := r.Temperature(); !ok || got.Valid || got.File != p {
		t.Errorf("before any read: %+v, %v; want the file, not valid", got, ok)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Missing: counted, not valid; the fit is copied now (none yet).
	r.readTemperature(t0)
	if got, _ := r.Temperature(); got.Valid || got.ReadErrors != 1 || got.Fit != (TempFit{}) {
		t.Errorf("missing file: %+v; want not valid, 1 error, no fit", got)
	}
	if err := os.WriteFile(p, []byte("45123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.readTemperature(t0.Add(10 * time.Second))
	got, _ := r.Temperature()
	if !got.Valid || got.Celsius != 45.123 || got.ReadErrors != 1 {
		t.Errorf("after a read: %+v; want 45.123 °C, valid, 1 error", got)
	}
	// The loop now has models (the first lag's fit has its time constant),
	// but the published copy waits for TempFitPublishEvery.
	if got.Fit.LagS != 0 {
		t.Errorf("fit copied %v after the last copy: %+v", 10*time.Second, got.Fit)
	}
	r.readTemperature(t0.Add(TempFitPublishEvery))
	if got, _ := r.Temperature(); got.Fit.LagS != tempLagsS[0] || got.Fit != loop.TempFit() {
		t.Errorf("fit after %v: %+v, want the loop's %+v", TempFitPublishEvery, got.Fit, loop.TempFit())
	}
	if err := os.WriteFile(p, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.readTemperature(t0.Add(TempFitPublishEvery + time.Second))
	if got, _ := r.Temperature(); got.Valid || got.Celsius != 45.123 || got.ReadErrors != 2 {
		t.Errorf("after a bad read: %+v; want the last valid 45.123 °C, not valid, 2 errors", got)
	}
}
