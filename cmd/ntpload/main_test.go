package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/loadgen"
)

func TestParseSteps(t *testing.T) {
	s, err := parseSteps("50000:150000:50000")
	if err != nil || !slices.Equal(s, []int{50000, 100000, 150000}) {
		t.Errorf("parseSteps = %v, %v", s, err)
	}
	for _, bad := range []string{"", "1:2", "a:2:1", "1:2:0", "5:1:1"} {
		if _, err := parseSteps(bad); err == nil {
			t.Errorf("parseSteps(%q) accepted", bad)
		}
	}
}

func TestRefusesRemoteTarget(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-target", "192.0.2.1:123", "-rate", "10", "-duration", "100ms"}, &out)
	if !errors.Is(err, loadgen.ErrNotLoopback) {
		t.Fatalf("run = %v, want ErrNotLoopback", err)
	}
	if err := run([]string{"-target", "127.0.0.1:123"}, &out); err == nil {
		t.Fatal("run with nothing to do succeeded")
	}
}

// TestJSONAgainstEcho runs one short step against a loopback echo server
// that answers like an NTP server.
func TestJSONAgainstEcho(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			rep := make([]byte, 48)
			rep[0], rep[1] = 4<<3|4, 1
			copy(rep[12:], "PPS")
			copy(rep[24:32], buf[40:48])
			_, _ = c.WriteToUDPAddrPort(rep, from)
		}
	}()
	var out bytes.Buffer
	addr := c.LocalAddr().String()
	if err := run([]string{"-target", addr, "-rate", "2000", "-duration", "200ms", "-json", "-name", "echo"}, &out); err != nil {
		t.Fatal(err)
	}
	var l Line
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &l); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	if l.Name != "echo" || l.Sent < 360 || l.Sent > 400 || l.Answered != l.Sent || l.Loss != 0 || l.RefID != "PPS" {
		t.Fatalf("line %+v", l)
	}
	out.Reset()
	if err := run([]string{"-target", addr, "-rate", "1000", "-duration", "100ms"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "answer/s") || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("table output %q", out.String())
	}
}

func TestSummary(t *testing.T) {
	mk := func(name, mode string, offered, ans, loss, cpu float64, p99 time.Duration, kod uint64) Line {
		return Line{Name: name, ServerCPU: cpu, ServerRSSKiB: 5000, Result: loadgen.Result{
			Mode: mode, Offered: offered, SentPerS: offered, AnsPerS: ans, Loss: loss, P50: p99 / 4, P99: p99, KoD: kod}}
	}
	lines := []Line{
		mk("chronyd", "open", 100000, 99500, 0.005, 0.6, 2*time.Millisecond, 0),
		mk("gnomon", "open", 100000, 100000, 0, 0.5, time.Millisecond, 0),
		mk("chronyd", "open", 200000, 130000, 0.35, 1, 9*time.Millisecond, 0),
		mk("gnomon", "open", 200000, 199000, 0.005, 0.9, 3*time.Millisecond, 0),
		mk("chronyd", "closed", 0, 170000, 0, 0.97, 0, 0),
		mk("gnomon", "closed", 0, 255000, 0, 0.99, 0, 0),
	}
	// Transmit-stamp lags: measured for both servers at 100k, for gnomon at 200k.
	for i, lag := range []time.Duration{3000, 400, 0, 900} {
		if lag != 0 {
			lines[i].LagP50, lines[i].LagP99, lines[i].LagMax, lines[i].LagCount = lag/2, lag, 2*lag, 1000
		}
	}
	var out bytes.Buffer
	if err := writeSummary(lines, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Ratio gnomon/chronyd: answers/s at <1% loss 2.00x; ceiling 1.50x; p99 at 100000/s (chronyd's best): 1.000 ms vs 2.000 ms",
		"chronyd             99500", // chronyd's best is the 100k step (200k lost 35%)
		"gnomon             199000",
		"255000/s",
		"4.52 µs",                   // gnomon: 0.9 of a core / 199000 answers/s
		"0.20/0.40/0.80",            // gnomon's lag at 100k, µs
		"-                       |", // chronyd's lag at 200k: not measured
		"Transmit-stamp lag of gnomon, worst p99 at <1% loss up to 100000/s: 0.40 µs", // up to chronyd's best only
		"Transmit-stamp lag of chronyd, worst p99 at <1% loss up to 100000/s: 3.00 µs",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "NOTE") || strings.Contains(s, "generator sent less") {
		t.Errorf("rate-limit note without any KoD:\n%s", s)
	}
	lines[3].KoD = 7
	lines[3].SentPerS = 150000 // the generator fell behind at 200k
	out.Reset()
	_ = writeSummary(lines, &out)
	if !strings.Contains(out.String(), "gnomon sent 7 kiss-o'-death") || !strings.Contains(out.String(), "%! 0.45/0.90/1.80") ||
		!strings.Contains(out.String(), "measures the generator") {
		t.Errorf("no rate-limit note:\n%s", out.String())
	}
	if err := writeSummary(nil, &out); err == nil {
		t.Error("empty summary accepted")
	}
}
