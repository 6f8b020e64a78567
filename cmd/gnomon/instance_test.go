package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestSecondInstanceRefused: a second gnomon on the address a first one
// serves refuses to start, naming the first's PID, instead of taking half
// its queries.
func TestSecondInstanceRefused(t *testing.T) {
	p := startSim(t)
	code, out := runGnomon(t, "run", "--sim", "--ntp-listen", p.addr)
	want := fmt.Sprintf("held by PID %d (gnomon)", p.cmd.Process.Pid)
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("second instance on %s: exit %d, output:\n%s\nwant exit 1 and %q", p.addr, code, out, want)
	}
	if strings.Contains(out, "serving NTP") {
		t.Errorf("second instance served:\n%s", out)
	}
}
