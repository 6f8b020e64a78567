package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/server"
)

// TestNMEAOnlyServedBoundHolds is issue 12's case: a receiver whose
// sentence ends 150 ms after the second, no PPS, the 200 ms default delay.
// The appliance serves (refid GPS) about 50 ms off true (host) time; every
// synchronised answer's root dispersion must cover its real error, never
// claim a few milliseconds.
func TestNMEAOnlyServedBoundHolds(t *testing.T) {
	clk, hat, ctx, cancel, hatDone := startSimHat(t, discipline.SimClockConfig{
		InitialOffset: 30 * time.Millisecond, FreqPPM: 5, Wander: 1e-9, Seed: 4,
	}, simhat.Config{NMEADelay: 150 * time.Millisecond, NMEAJitter: 3 * time.Millisecond, PPSJitter: time.Microsecond, Seed: 4})
	defer cancel()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := fmt.Sprintf(`[board]
serial_path = %q
baud = 9600
pps_device = "/dev/pps-none"

[discipline]
drift_file = ""
leap_seconds_file = ""

[server]
listen = ["127.0.0.1:0"]

[system]
user = ""
log_level = "debug"
`, hat.SerialPath())
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	dev := devices{
		openSerial: board.OpenSerial,
		openPPS:    func(board.Hat, board.OpenOptions) (pps.Source, error) { return nil, board.ErrNoPPS },
		clock:      func() (discipline.Clock, server.TimeSource, error) { return clk, simTime{clk}, nil },
		drop:       func(*slog.Logger, privileges) error { return nil },
	}
	noSocket := ""
	f := &runFlags{config: cfgPath}
	f.views.controlSocket = &noSocket
	runDone := make(chan error, 1)
	go func() { runDone <- runHardwareWith(ctx, f, logs, dev) }()

	addrRE := regexp.MustCompile(`msg="serving NTP" addr=127\.0\.0\.1:(\d+)`)
	var port int
	for deadline := time.Now().Add(10 * time.Second); port == 0; time.Sleep(50 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			port, _ = strconv.Atoi(m[1])
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 10 s\n%s", logs)
		}
	}
	synced := 0
	for start := time.Now(); time.Since(start) < 60*time.Second && synced < 4; time.Sleep(2500 * time.Millisecond) {
		r, err := ntp.QueryWithOptions("127.0.0.1", ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
		if err != nil || r.Leap == ntp.LeapNotInSync || r.Stratum != 1 {
			continue
		}
		synced++
		t.Logf("stratum %d refid %08x: offset %v from true time, root dispersion %v", r.Stratum, r.ReferenceID, r.ClockOffset, r.RootDispersion)
		if r.RootDispersion < r.ClockOffset.Abs() {
			t.Errorf("served %v off true time claiming root dispersion %v", r.ClockOffset, r.RootDispersion)
		}
	}
	if synced == 0 {
		t.Fatalf("never served synchronised on NMEA alone\n%s", logs)
	}
	cancel()
	<-runDone
	<-hatDone
}
