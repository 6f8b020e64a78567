package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/views"
)

// trueClock is the host clock as the simulated hat's clock.
type trueClock struct{}

func (trueClock) At(t time.Time) time.Time { return t }

// TestGPSMonJSON runs gnomon gpsmon --json on the simulated hat's serial
// port: one object per second with the RFC 3339 nanosecond UTC, a valid 3D
// fix and the satellites.
func TestGPSMonJSON(t *testing.T) {
	hat, err := simhat.New(trueClock{}, simhat.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hat.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hat.Run(ctx)
	go func() { // the hat's pulses are not read here
		for range hat.Edges() {
		}
	}()
	cmd := exec.Command(gnomonBin(t), "gpsmon", "--device", hat.SerialPath(), "--baud", "9600", "--json", "--count", "3")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpsmon: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var prev time.Time
	n := 0
	for sc.Scan() {
		var l views.GPSLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		utc, err := time.Parse(time.RFC3339Nano, l.UTC)
		if err != nil || !l.Valid || l.Sentence != "RMC" || time.Until(utc).Abs() > 5*time.Second {
			t.Errorf("line %+v (%v): want a valid RMC second near now", l, err)
		}
		// RMC leads each burst: GGA, GSA and GSV of the first second come
		// after the first message.
		if n > 0 && (l.Fix != 3 || l.Sats != 9 || l.InView != 11 || l.HDOP != 0.94) {
			t.Errorf("line %+v: want the 3D fix, 9 of 11 satellites, HDOP 0.94", l)
		}
		if !prev.IsZero() && utc.Sub(prev) != time.Second {
			t.Errorf("seconds %v then %v", prev, utc)
		}
		// The hat sends 0.2 s after the second, plus the line's transmission.
		if l.SinceSecondS < 0.15 || l.SinceSecondS > 0.5 {
			t.Errorf("read %.3f s after the second, want about 0.2", l.SinceSecondS)
		}
		prev = utc
		n++
	}
	if n != 3 {
		t.Errorf("%d objects, want 3:\n%s", n, out)
	}
}

// TestPPSMonPulses prints edges with intervals, errors, jitter and a
// missed pulse.
func TestPPSMonPulses(t *testing.T) {
	edges := make(chan pps.Edge, 8)
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, time.Second + time.Microsecond, 3*time.Second - time.Microsecond} {
		edges <- pps.Edge{Time: base.Add(d), Assert: true}
	}
	var out, errs strings.Builder
	if code := monitorPulses(context.Background(), pps.NewSim(edges, time.Microsecond), 3, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "first edge") ||
		!strings.Contains(lines[1], "interval 1.000001s error 1µs jitter 1µs") ||
		!strings.Contains(lines[2], "error -2µs") || !strings.HasSuffix(lines[2], "(1 missed)") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestMonitorUsage: the tools need a device.
func TestMonitorUsage(t *testing.T) {
	for _, tool := range []string{"gpsmon", "ppsmon"} {
		var out, errs strings.Builder
		if code := Main([]string{tool}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "--device PATH") {
			t.Errorf("%s without a device: exit %d, %q", tool, code, errs.String())
		}
	}
}
