package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/internal/testpeer"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/server"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHardwarePathOnSimulatedHat runs "gnomon run --config" as on a Pi,
// with the simulated hat's pseudo-terminal as the UART (opened by the real
// board.OpenSerial), its pulses as the PPS device and the simulated clock
// in place of adjtimex: the config file's settings must reach the devices,
// the privilege drop must run after the sockets are bound, the server must
// reach stratum 1 / PPS, and shutdown must write the drift file.
func TestHardwarePathOnSimulatedHat(t *testing.T) {
	clk, hat, ctx, cancel, hatDone := startSimHat(t, discipline.SimClockConfig{
		InitialOffset: 200 * time.Millisecond, FreqPPM: -20, Wander: 1e-9, Seed: 2,
	}, simhat.Config{Seed: 2})
	defer cancel()

	dir := t.TempDir()
	drift := filepath.Join(dir, "drift")
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := fmt.Sprintf(`[board]
serial_path = %q
baud = 9600
pps_device = "/dev/pps-simulated"
edge_delay = "100ns"

[refclock]
nmea_delay = "200ms"

[discipline]
drift_file = %q
leap_seconds_file = ""

[server]
listen = ["127.0.0.1:0"]

[system]
user = ""
log_level = "debug"
`, hat.SerialPath(), drift)
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		gotHat     board.Hat
		gotOpts    board.OpenOptions
		droppedAt  string
		serialOpen int
	)
	logs := &syncBuffer{}
	dev := devices{
		openSerial: func(path string, baud int) (io.ReadCloser, error) {
			serialOpen++
			if path != hat.SerialPath() || baud != 9600 {
				return nil, fmt.Errorf("openSerial(%q, %d): not the configured port", path, baud)
			}
			return board.OpenSerial(path, baud)
		},
		openPPS: func(h board.Hat, o board.OpenOptions) (pps.Source, error) {
			gotHat, gotOpts = h, o
			return pps.NewSim(hat.Edges(), time.Microsecond), nil
		},
		clock: func() (discipline.Clock, server.TimeSource, error) { return clk, simTime{clk}, nil },
		drop: func(log *slog.Logger, p privileges) error {
			droppedAt = logs.String()
			return nil
		},
	}
	runDone, port := startHardware(t, ctx, cfgPath, logs, dev)
	waitStratum1PPS(t, port, runDone, logs)

	cancel()
	waitRunEnd(t, runDone, logs)
	<-hatDone

	if gotHat.Name != "custom" || gotHat.PPSDevice != "/dev/pps-simulated" || gotHat.EdgeDelay != 100*time.Nanosecond {
		t.Errorf("PPS opened for %+v, want the custom receiver of the config file", gotHat)
	}
	if gotOpts.Method != "" || gotOpts.CaptureClear {
		t.Errorf("PPS options %+v, want the defaults", gotOpts)
	}
	if serialOpen != 1 {
		t.Errorf("serial port opened %d times, want once (before the privilege drop)", serialOpen)
	}
	if !strings.Contains(droppedAt, `msg="serving NTP" addr=`) || strings.Contains(droppedAt, "nmea device opened") {
		t.Errorf("privileges not dropped between binding and running:\n%s", droppedAt)
	}
	d, err := discipline.ReadDrift(drift)
	if err != nil {
		t.Fatalf("drift file: %v\n%s", err, logs)
	}
	if d.FreqPPB < 15000 || d.FreqPPB > 25000 {
		t.Errorf("drift %.0f ppb, want about +20000 (the crystal is 20 ppm slow)", d.FreqPPB)
	}
}

// startHardware runs runHardwareWith on the config file at cfgPath with
// dev in the background and returns its result channel and the NTP port
// it serves on, once it logs it.
func startHardware(t *testing.T, ctx context.Context, cfgPath string, logs *syncBuffer, dev devices) (<-chan error, int) {
	t.Helper()
	runDone := make(chan error, 1)
	go func() { runDone <- runHardwareWith(ctx, &runFlags{config: cfgPath}, logs, dev) }()
	addrRE := regexp.MustCompile(`msg="serving NTP" addr=127\.0\.0\.1:(\d+)`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			port, _ := strconv.Atoi(m[1])
			return runDone, port
		}
		select {
		case err := <-runDone:
			t.Fatalf("run ended before serving: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 10 s\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStratum1PPS queries port until it serves stratum 1, refid PPS,
// within a millisecond of this machine's clock, or fails the test after
// lockDeadline.
func waitStratum1PPS(t *testing.T, port int, runDone <-chan error, logs *syncBuffer) {
	t.Helper()
	start := time.Now()
	for {
		r, err := ntp.QueryWithOptions("127.0.0.1", ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
		if err == nil && r.Stratum == 1 && r.ReferenceID == refIDPPS && r.Leap == ntp.LeapNoWarning && r.ClockOffset.Abs() < time.Millisecond {
			t.Logf("stratum 1 / PPS after %v, offset %v", time.Since(start).Round(time.Millisecond), r.ClockOffset)
			return
		}
		select {
		case err := <-runDone:
			t.Fatalf("run ended: %v\n%s", err, logs)
		default:
		}
		if time.Since(start) > lockDeadline {
			t.Fatalf("no stratum 1 / PPS within %v: %+v %v\n%s", lockDeadline, r, err, logs)
		}
		time.Sleep(2500 * time.Millisecond)
	}
}

// waitRunEnd waits for a cancelled run to return without error.
func waitRunEnd(t *testing.T, runDone <-chan error, logs *syncBuffer) {
	t.Helper()
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not return after cancel\n%s", logs)
	}
}

// TestHardwareBarePPS runs the hardware path with serial_path = "none": a
// hat profile's PPS wire and no UART. The serial port is never opened, the
// pulses are numbered from three upstream servers' time, and the server
// reaches stratum 1 / PPS.
func TestHardwareBarePPS(t *testing.T) {
	clk, hat, ctx, cancel, hatDone := startSimHat(t, discipline.SimClockConfig{
		InitialOffset: 200 * time.Millisecond, FreqPPM: 15, Wander: 1e-9, Seed: 3,
	}, simhat.Config{Seed: 3, NoNMEA: true})
	defer cancel()

	var servers []string
	for range 3 {
		u := testpeer.StartNTPServer(t, 0)
		servers = append(servers, fmt.Sprintf("%q", fmt.Sprintf("%s port %d iburst minpoll 0 maxpoll 0", u.Addr.Addr(), u.Addr.Port())))
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := fmt.Sprintf(`[board]
hat = "uputronics"
serial_path = "none"

[ntp]
servers = [%s]

[discipline]
drift_file = %q
leap_seconds_file = ""

[server]
listen = ["127.0.0.1:0"]

[system]
user = ""
log_level = "debug"
`, strings.Join(servers, ", "), filepath.Join(dir, "drift"))
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var gotHat board.Hat
	logs := &syncBuffer{}
	dev := devices{
		openSerial: func(path string, baud int) (io.ReadCloser, error) {
			t.Errorf("openSerial(%q, %d) on a bare PPS wire", path, baud)
			return nil, fmt.Errorf("no UART")
		},
		openPPS: func(h board.Hat, o board.OpenOptions) (pps.Source, error) {
			gotHat = h
			return pps.NewSim(hat.Edges(), time.Microsecond), nil
		},
		clock: func() (discipline.Clock, server.TimeSource, error) { return clk, simTime{clk}, nil },
		drop:  func(*slog.Logger, privileges) error { return nil },
	}
	runDone, port := startHardware(t, ctx, cfgPath, logs, dev)
	waitStratum1PPS(t, port, runDone, logs)
	cancel()
	waitRunEnd(t, runDone, logs)
	<-hatDone
	if gotHat.SerialPath != "" || gotHat.PPSPin != 18 {
		t.Errorf("PPS opened for %+v, want the Uputronics wire without its UART", gotHat)
	}
	for _, want := range []string{`msg="no GPS receiver UART: a bare PPS wire`, `msg="pps numbered from NTP time`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s\n%s", want, logs)
		}
	}
}

// TestHardwareBarePPSNeedsPPS: serial_path = "none" on a board whose PPS
// input does not open refuses to start, naming the file's line (the PPS
// key, else the hat that chose it).
func TestHardwareBarePPSNeedsPPS(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := "[board]\nhat = \"uputronics\"\nserial_path = \"none\"\n[ntp]\nservers = [\"127.0.0.1 port 9\"]\n[discipline]\ndrift_file = \"\"\nleap_seconds_file = \"\"\n[server]\nlisten = [\"127.0.0.1:0\"]\n[system]\nuser = \"\"\n"
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := devices{
		openSerial: func(string, int) (io.ReadCloser, error) { return nil, fmt.Errorf("no UART") },
		openPPS:    func(board.Hat, board.OpenOptions) (pps.Source, error) { return nil, board.ErrNoPPS },
		clock: func() (discipline.Clock, server.TimeSource, error) {
			t.Error("clock opened after a refused PPS input")
			return nil, nil, fmt.Errorf("no clock")
		},
		drop: func(*slog.Logger, privileges) error { return nil },
	}
	err := runHardwareWith(context.Background(), &runFlags{config: cfgPath}, io.Discard, dev)
	if err == nil || !strings.Contains(err.Error(), "gnomon.toml:2: board.hat:") || !strings.Contains(err.Error(), "bare PPS wire") {
		t.Errorf("run = %v, want an error at board.hat about the bare PPS wire", err)
	}
}

// startSimHat starts a simulated clock (true time: this machine's) and a
// simulated hat on it, running until cancel; hatDone yields Run's result.
// The hat is closed when the test ends.
func startSimHat(t *testing.T, cc discipline.SimClockConfig, hc simhat.Config) (*discipline.SimClock, *simhat.Hat, context.Context, context.CancelFunc, <-chan error) {
	t.Helper()
	clk := discipline.NewSimClock(cc, time.Now)
	hat, err := simhat.New(clk, hc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hat.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	hatDone := make(chan error, 1)
	go func() { hatDone <- hat.Run(ctx) }()
	return clk, hat, ctx, cancel, hatDone
}

// TestHardwareTemperature runs the hardware path with a temperature file
// set in the config: the discipline reads it, and gnomon status and
// /metrics report its 45.123 °C.
func TestHardwareTemperature(t *testing.T) {
	clk, hat, ctx, cancel, hatDone := startSimHat(t, discipline.SimClockConfig{
		InitialOffset: 50 * time.Millisecond, FreqPPM: 5, Wander: 1e-9, Seed: 4,
	}, simhat.Config{Seed: 4})
	defer cancel()
	dir := t.TempDir()
	tempFile := filepath.Join(dir, "temp")
	if err := os.WriteFile(tempFile, []byte("45123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "gnomon.sock")
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := fmt.Sprintf(`[board]
serial_path = %q
baud = 9600
pps_device = "/dev/pps-simulated"

[discipline]
drift_file = ""
leap_seconds_file = ""
temperature_file = %q

[server]
listen = ["127.0.0.1:0"]

[views]
http_listen = "127.0.0.1:0"
control_socket = %q

[system]
user = ""
log_level = "debug"
`, hat.SerialPath(), tempFile, socket)
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	dev := devices{
		openSerial: board.OpenSerial,
		openPPS: func(board.Hat, board.OpenOptions) (pps.Source, error) {
			return pps.NewSim(hat.Edges(), time.Microsecond), nil
		},
		clock: func() (discipline.Clock, server.TimeSource, error) { return clk, simTime{clk}, nil },
		drop:  func(*slog.Logger, privileges) error { return nil },
	}
	runDone, _ := startHardware(t, ctx, cfgPath, logs, dev)
	m := httpRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no HTTP address logged\n%s", logs)
	}
	var status, metrics string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var out, errb strings.Builder
		if statusCmd([]string{"--control-socket", socket}, &out, &errb) != 0 {
			t.Fatalf("gnomon status: %s", errb.String())
		}
		status = out.String()
		metrics = scrape(t, m[1])
		if strings.Contains(status, "Temperature     : 45.123 °C") {
			break
		}
		select {
		case err := <-runDone:
			t.Fatalf("run ended: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no temperature in gnomon status within 10 s:\n%s\n%s", status, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("gnomon status:\n%s", status)
	for _, want := range []string{"\ngnomon_temperature_celsius 45.123\n", "\ngnomon_temperature_read_errors_total 0\n",
		"\ngnomon_temperature_model_trusted 0\n", "\ngnomon_temperature_coefficient_ppb_per_celsius "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if !strings.Contains(status, "Temp model      : learning") {
		t.Errorf("gnomon status shows no learning model:\n%s", status)
	}
	if !strings.Contains(logs.String(), `msg="temperature sensor" file=`+tempFile+` celsius=45.123`) {
		t.Errorf("the sensor is not logged at start:\n%s", logs)
	}
	cancel()
	waitRunEnd(t, runDone, logs)
	<-hatDone
}

// scrape returns the text of http://addr/metrics.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTemperatureFileChoice: a missing default sensor file means no
// sensor, said at info; a file the config names is kept even when it does
// not read (the discipline keeps trying); "" is none.
func TestTemperatureFileChoice(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name, doc string
		override  *string
		want      string
		log       string
	}{
		{"default missing", "", &missing, "", `level=INFO msg="no temperature sensor: holdover goes without the temperature model" file=` + missing},
		{"named missing", fmt.Sprintf("[discipline]\ntemperature_file = %q\n", missing), nil, missing, ""},
		{"empty", "[discipline]\ntemperature_file = \"\"\n", nil, "", `msg="no temperature sensor: discipline.temperature_file is empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("t.toml", []byte("[board]\nhat = \"adafruit\"\n"+tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if tc.override != nil {
				// The default path, as on a board without the sensor.
				c.Discipline.TemperatureFile = *tc.override
			}
			var logs strings.Builder
			got := temperatureFile(c, slog.New(slog.NewTextHandler(&logs, nil)))
			if got != tc.want || !strings.Contains(logs.String(), tc.log) {
				t.Errorf("temperatureFile = %q, log %q; want %q, log with %q", got, logs.String(), tc.want, tc.log)
			}
			if strings.Contains(logs.String(), "WARN") {
				t.Errorf("warned at start: %s", logs.String())
			}
		})
	}
}
