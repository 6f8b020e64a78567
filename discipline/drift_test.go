package discipline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
	"github.com/gnomon-ntp/gnomon/source"
)

func TestDriftRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gnomon.drift")
	d := Drift{FreqPPB: -30123.456, Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if err := WriteDrift(path, d); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDrift(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != d {
		t.Errorf("read %+v, want %+v", got, d)
	}
	// Overwrite is atomic: no temporary files left behind.
	if err := WriteDrift(path, Drift{FreqPPB: 1, Time: d.Time}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("%d files in the drift directory, want 1", len(ents))
	}
	if err := WriteDrift(filepath.Join(t.TempDir(), "no", "such", "dir"), d); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestParseDriftRejects(t *testing.T) {
	for _, s := range []string{"", "12.5", "x 2026-03-01T00:00:00Z", "NaN 2026-03-01T00:00:00Z",
		"600000 2026-03-01T00:00:00Z", "1 yesterday", "1 2 3"} {
		if _, err := ParseDrift([]byte(s)); !errors.Is(err, ErrBadDrift) {
			t.Errorf("ParseDrift(%q) = %v, want ErrBadDrift", s, err)
		}
	}
}

func FuzzParseDrift(f *testing.F) {
	f.Add([]byte("-30123.456 2026-03-01T12:00:00Z\n"))
	f.Add([]byte("0 2026-03-01T12:00:00.123456789+02:00"))
	f.Add([]byte("1e3 x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDrift(b)
		if err != nil {
			if !errors.Is(err, ErrBadDrift) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if math.IsNaN(d.FreqPPB) || math.Abs(d.FreqPPB) > maxDriftPPB {
			t.Fatalf("accepted %v", d.FreqPPB)
		}
		// What we write we read back (to the file's millisecond precision).
		d2, err := ParseDrift(d.Format())
		if err != nil || math.Abs(d2.FreqPPB-d.FreqPPB) > 0.001 || !d2.Time.Equal(d.Time.Truncate(time.Second)) {
			t.Fatalf("round trip %+v -> %+v, %v", d, d2, err)
		}
	})
}

// TestRunDriftAndLog runs the I/O-edge runner on a realtime sim clock: a
// corrupt drift file is a warning, samples lock the loop, and the drift file
// is written at shutdown.
func TestRunDriftAndLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drift")
	if err := os.WriteFile(path, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clk := NewSimClock(SimClockConfig{FreqPPM: 12}, time.Now)
	loop, err := NewLoop(DefaultConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Pulses of the last few seconds, stamped by the sim clock before any
	// correction (the clock's past does not change).
	base := time.Now().Add(-8 * time.Second).Truncate(time.Second)
	var batch []source.Sample
	for k := 0; k < 8; k++ {
		tk := base.Add(time.Duration(k) * time.Second)
		local := clk.At(tk)
		batch = append(batch, ppsSample(local, tk.Sub(local), time.Microsecond))
	}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	samples := make(chan source.Sample)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runLoop(t, ctx, loop, samples, path, log) }()
	for _, s := range batch {
		samples <- s
	}
	close(samples)
	deadline := time.Now().Add(5 * time.Second)
	for !loop.State().Synced && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logBuf.String()
	if !strings.Contains(out, "no usable drift file") || !strings.Contains(out, "lock gained") {
		t.Errorf("log lacks the drift warning or lock:\n%s", out)
	}
	d, err := ReadDrift(path)
	if err != nil {
		t.Fatalf("drift not saved at shutdown: %v", err)
	}
	if !near(d.FreqPPB, -12e3, 500) {
		t.Errorf("saved %v ppb, want about -12000", d.FreqPPB)
	}
	// A good drift file is applied at start.
	clk2 := NewSimClock(SimClockConfig{}, time.Now)
	loop2, _ := NewLoop(DefaultConfig(), clk2, nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := runLoop(t, ctx2, loop2, nil, path, nil); err != nil {
		t.Fatal(err)
	}
	if f, _ := clk2.FrequencyPPB(); f != d.FreqPPB {
		t.Errorf("drift file frequency not applied: %v", f)
	}
}

func TestRunNoDriftFileMeansZero(t *testing.T) {
	clk := NewSimClock(SimClockConfig{}, time.Now)
	if err := clk.SetFrequencyPPB(20e3); err != nil { // left over by someone
		t.Fatal(err)
	}
	loop, err := NewLoop(DefaultConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runLoop(t, ctx, loop, nil, filepath.Join(t.TempDir(), "absent"), nil); err != nil {
		t.Fatal(err)
	}
	if f, _ := clk.FrequencyPPB(); f != 0 {
		t.Errorf("absent drift file left %v ppb", f)
	}
}

func TestPlausibleBounds(t *testing.T) {
	build := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	path := filepath.Join(dir, "drift")
	if b := PlausibleBounds(build, path); !b.Lower.Equal(build) {
		t.Errorf("without a drift file: lower %v", b.Lower)
	}
	if err := WriteDrift(path, Drift{FreqPPB: 1, Time: build}); err != nil {
		t.Fatal(err)
	}
	saved := build.Add(90 * 24 * time.Hour)
	if err := os.Chtimes(path, saved, saved); err != nil {
		t.Fatal(err)
	}
	if b := PlausibleBounds(build, path); !b.Lower.Equal(saved) || !b.Upper.Equal(saved.Add(source.DefaultPlausibleSpan)) {
		t.Errorf("with a newer drift file: %v .. %v", b.Lower, b.Upper)
	}
	// A drift file older than the build does not lower the bound.
	old := build.Add(-time.Hour)
	os.Chtimes(path, old, old)
	if b := PlausibleBounds(build, path); !b.Lower.Equal(build) {
		t.Errorf("older drift file: lower %v", b.Lower)
	}
	// Not a regular file: ignored.
	if !SavedAt(dir).IsZero() {
		t.Error("a directory's mtime was used")
	}
}

// TestReadDriftRefusesSpecialFiles: a drift file that is a device or is
// larger than MaxDriftFileBytes is refused, never read whole.
func TestReadDriftRefusesSpecialFiles(t *testing.T) {
	if _, err := ReadDrift("/dev/zero"); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("ReadDrift(/dev/zero) = %v, want ErrNotRegular", err)
	}
	big := filepath.Join(t.TempDir(), "drift")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), MaxDriftFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDrift(big); !errors.Is(err, safefile.ErrTooLarge) {
		t.Errorf("ReadDrift(oversized) = %v, want ErrTooLarge", err)
	}
}

// TestRemoveStaleTemps: the temp files WriteDrift uses are recognised and
// removed; the drift file itself stays.
func TestRemoveStaleTemps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gnomon.drift")
	if err := WriteDrift(path, Drift{FreqPPB: 1, Time: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	removed, err := RemoveStaleTemps(path)
	if err != nil || len(removed) != 1 || removed[0] != tmp.Name() {
		t.Fatalf("RemoveStaleTemps = %v, %v; want [%s]", removed, err, tmp.Name())
	}
	if _, err := ReadDrift(path); err != nil {
		t.Errorf("drift file gone: %v", err)
	}
}
