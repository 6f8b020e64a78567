package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestPoolcheckSim scores gnomon run --sim on loopback as the pool would:
// each check within 25 ms (+1), the score rising by the decay rule.
func TestPoolcheckSim(t *testing.T) {
	p, _, _ := startViewsSim(t)
	out, err := exec.Command(gnomonBin(t), "poolcheck", "--count", "2", "--interval", "500ms", "--spacing", "300ms", p.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("poolcheck: %v\n%s", err, out)
	}
	t.Logf("gnomon poolcheck:\n%s", out)
	s := string(out)
	for _, want := range []string{"check 1: offset ", "within 25 ms (+1); rtt ", "step +1.00, score 1.00 (not in DNS)",
		"check 2: offset ", "step +1.00, score 1.95 (not in DNS)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "query") {
		t.Errorf("a query failed:\n%s", s)
	}
}

// TestPoolcheckNoAnswer: a port where nothing listens scores -5 a check.
func TestPoolcheckNoAnswer(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close() // nothing listens there now
	out, err := exec.Command(gnomonBin(t), "poolcheck", "--count", "2", "--interval", "10ms", "--spacing", "10ms", "--timeout", "200ms", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("poolcheck: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "check 1: no answer (-5); rtt -; step -5.00, score -5.00 (not in DNS)") ||
		!strings.Contains(s, "check 2: no answer (-5); rtt -; step -5.00, score -9.75 (not in DNS)") {
		t.Errorf("output:\n%s", s)
	}
}
