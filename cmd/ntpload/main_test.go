package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

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
