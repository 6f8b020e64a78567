package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// TestNtpdigAgainstServer queries the server with ntpsec's ntpdig.
func TestNtpdigAgainstServer(t *testing.T) {
	ntpdig := testpeer.Ntpdig(t)
	clock := simClock{offset: 2500 * time.Millisecond}
	st := syncedState()
	st.RefTime = clock.Now()
	r := startServer(t, testConfig("127.0.0.1:0"), clock, st)
	cmd := exec.Command(testpeer.Python3, testpeer.PortWrapper(t, ntpdig, r.addr(0).Port()), "-t", "5", "127.0.0.1")
	out, err := cmd.CombinedOutput()
	t.Logf("ntpdig: %s", out)
	if err != nil {
		t.Fatalf("ntpdig: %v", err)
	}
	res, err := testpeer.ParseNtpdig(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stratum != 1 || res.Leap != "no-leap" || res.Host != "127.0.0.1" {
		t.Errorf("ntpdig saw %+v, want stratum 1 no-leap from 127.0.0.1", res)
	}
	if res.OffsetS < 2.4 || res.OffsetS > 2.6 {
		t.Errorf("ntpdig offset %v, want 2.5 s (the served clock's lead)", res.OffsetS)
	}
}

// TestChronydAgainstServer queries the server with chronyd -Q (prints the
// offset, never sets the clock; -x: never touches it at all).
func TestChronydAgainstServer(t *testing.T) {
	chronyd := testpeer.Chronyd(t)
	clock := simClock{offset: 2500 * time.Millisecond}
	st := syncedState()
	st.RefTime = clock.Now()
	r := startServer(t, testConfig("127.0.0.1:0"), clock, st)
	conf := filepath.Join(t.TempDir(), "chrony.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chronyd, "-x", "-Q", "-u", "root", "-t", "10", "-f", conf,
		fmt.Sprintf("server 127.0.0.1 port %d iburst maxsamples 1", r.addr(0).Port()))
	out, err := cmd.CombinedOutput()
	t.Logf("chronyd: %s", out)
	if err != nil {
		t.Fatalf("chronyd: %v", err)
	}
	off, ok := testpeer.ParseChronydQ(string(out))
	if !ok {
		t.Fatalf("chronyd did not accept the server")
	}
	if off < 2.4 || off > 2.6 {
		t.Errorf("chronyd offset %v, want 2.5 s", off)
	}
	if s := r.stats(func(s Stats) bool { return s.Answered > 0 }); s.Answered == 0 || strings.Contains(string(out), "Timeout reached") {
		t.Errorf("stats %+v", s)
	}
}

// TestChronydInterleaved runs chronyd as a client of the server in
// interleaved mode (xleave, polling 16 times a second; -x: it never touches
// the clock) and reads its measurements log: after the first basic
// exchanges its measurements are interleaved, carrying the transmit times
// the kernel stamped, and the server counted interleaved answers.
func TestChronydInterleaved(t *testing.T) {
	chronyd := testpeer.Chronyd(t)
	r := startServer(t, testConfig("127.0.0.1:0"), SystemClock{}, syncedState())
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "server 127.0.0.1 port %d minpoll -4 maxpoll -4 xleave\n"+
		"logdir %s\nlog measurements\ncmdport 0\npidfile %s\n", r.addr(0).Port(), dir, filepath.Join(dir, "chronyd.pid")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chronyd, "-x", "-d", "-u", "root", "-f", conf)
	out, _ := cmd.CombinedOutput() // ended by the context: no exit status to check
	t.Logf("chronyd: %s", out)
	log, err := os.ReadFile(filepath.Join(dir, "measurements.log"))
	if err != nil {
		t.Fatalf("chronyd wrote no measurements: %v", err)
	}
	m := testpeer.ParseChronyMeasurements(string(log))
	t.Logf("measurements: %+v", m)
	if m.Interleaved == 0 || m.Basic == 0 {
		t.Errorf("chronyd measured %d basic and %d interleaved exchanges, want both (basic first):\n%s", m.Basic, m.Interleaved, log)
	}
	s := r.stats(func(s Stats) bool { return s.Interleaved > 0 })
	if s.Interleaved == 0 || s.Interleaved > s.Answered {
		t.Errorf("server stats %+v: no interleaved answers", s)
	}
}
