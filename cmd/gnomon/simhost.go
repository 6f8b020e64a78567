package main

import (
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/server"
)

// simHostUsage documents --sim-serve-host-clock.
const simHostUsage = "with --sim: serve the host clock instead of the simulated one (benchmarks: a client on this machine " +
	"then measures the serving path alone, not the simulated servo's error of about a microsecond); the simulation still runs"

// simTimeSource is the clock a simulated appliance serves: the simulated
// clock, or with --sim-serve-host-clock the host clock (true time in
// simulation), so the transmit-stamp lag a load generator on this machine
// measures is the server's alone.
func simTimeSource(f *runFlags, clk *discipline.SimClock) server.TimeSource {
	if f.simHost {
		return server.SystemClock{}
	}
	return simTime{clk}
}
