package main

import (
	"io"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/server"
)

// TestSimServeHostClock: --sim-serve-host-clock makes a simulated
// appliance serve the host clock; without it, the simulated clock (here a
// second ahead of the host) is served.
func TestSimServeHostClock(t *testing.T) {
	clk := discipline.NewSimClock(discipline.SimClockConfig{InitialOffset: time.Second, Seed: 1}, time.Now)
	f, err := parseRunFlags([]string{"--sim", "--sim-serve-host-clock"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := simTimeSource(f, clk).(server.SystemClock); !ok {
		t.Errorf("with --sim-serve-host-clock the served clock is %T, want the host's", simTimeSource(f, clk))
	}
	f, err = parseRunFlags([]string{"--sim"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	host := time.Now()
	if d := simTimeSource(f, clk).FromSystem(host).Sub(host); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("without it the served clock is %v off the host's, want the simulated 1s", d)
	}
}
