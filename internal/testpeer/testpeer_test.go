package testpeer

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// fakeTB records a Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestFindPrefersUnpackedTree(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GNOMON_PEERS", dir)
	if Dir() != dir {
		t.Fatalf("Dir() = %q, want %q", Dir(), dir)
	}
	p := filepath.Join(dir, "chrony/usr/sbin/chronyd")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Chronyd(t); got != p {
		t.Errorf("Chronyd = %q, want the unpacked %q", got, p)
	}
}

func TestMissingPeerFails(t *testing.T) {
	t.Setenv("GNOMON_PEERS", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	f := &fakeTB{TB: t}
	if got := Ntpq(f); got != "" || f.fatal == "" {
		t.Fatalf("Ntpq with no peer = %q, fatal %q: want a failure, not a skip", got, f.fatal)
	}
}

// TestPeersInstalled checks what scripts/install-test-deps.sh installs (make
// test runs it first): each peer is there and executable.
func TestPeersInstalled(t *testing.T) {
	for name, p := range map[string]string{
		"chronyd": Chronyd(t), "ntpq": Ntpq(t), "ntpdig": Ntpdig(t),
		"ntpdate": Ntpdate(t), "tshark": Tshark(t), "python3": Python3,
	} {
		st, err := os.Stat(p)
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s at %s is not an executable file: %v", name, p, err)
		}
	}
}

// TestStartChronyd starts two chronyd servers on loopback and checks each
// answers at stratum 1 with this machine's time.
func TestStartChronyd(t *testing.T) {
	for i := 0; i < 2; i++ {
		s := StartChronyd(t)
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr))
		if err != nil {
			t.Fatal(err)
		}
		req := make([]byte, 48)
		req[0] = 0x23
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		c.Close()
		if err != nil || n < 48 {
			t.Fatalf("chronyd %v: %v (%d bytes)", s.Addr, err, n)
		}
		var h ntp.Header
		if err := ntp.Decode(buf[:n], &h); err != nil {
			t.Fatal(err)
		}
		if h.Stratum != 1 || h.Mode != ntp.ModeServer {
			t.Errorf("chronyd %v: stratum %d mode %d, want a stratum 1 server", s.Addr, h.Stratum, h.Mode)
		}
		if off := time.Until(h.TransmitTime.Time()); off.Abs() > 100*time.Millisecond {
			t.Errorf("chronyd %v serves %v from this machine's clock", s.Addr, off)
		}
	}
}
