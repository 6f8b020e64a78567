package testpeer

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ChronydServer is a chronyd serving this machine's clock at stratum 1 on a
// loopback port. It runs with -x (it never touches the clock) and is stopped
// by its PID when the test ends.
type ChronydServer struct {
	// Addr is where it serves NTP.
	Addr netip.AddrPort
	// Dir holds its config, pid and drift files and its output.
	Dir string
	cmd *exec.Cmd
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// ChronydConfig is the configuration StartChronyd gives a chronyd serving
// this machine's clock on 127.0.0.1:port, its files in dir: no command
// port, stratum 1 from the local clock, clients from loopback only.
func ChronydConfig(dir string, port int) string {
	return strings.Join([]string{
		fmt.Sprintf("port %d", port),
		"bindaddress 127.0.0.1",
		"cmdport 0",
		"local stratum 1",
		"allow 127.0.0.1",
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"driftfile " + filepath.Join(dir, "drift"),
		"",
	}, "\n")
}

// StartChronyd starts a chronyd serving this machine's clock (chronyd -x:
// the clock is never changed) on a free loopback port and waits until it
// answers. It is stopped (SIGTERM to its PID, then SIGKILL) when the test
// ends.
func StartChronyd(t testing.TB) *ChronydServer {
	t.Helper()
	bin := Chronyd(t)
	dir := t.TempDir()
	for attempt := 0; attempt < 3; attempt++ {
		port := freeUDPPort(t)
		conf := filepath.Join(dir, "chronyd.conf")
		if err := os.WriteFile(conf, []byte(ChronydConfig(dir, port)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("chronyd-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		// -n: stay in the foreground, so the PID is ours; -u root: no
		// user switch (the test runs as root).
		cmd := exec.Command(bin, "-x", "-n", "-u", "root", "-f", conf)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			t.Fatalf("chronyd: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); out.Close(); close(done) }()
		s := &ChronydServer{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)), Dir: dir, cmd: cmd}
		stop := func() {
			select {
			case <-done:
				return
			default:
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
		if answers(s.Addr, 10*time.Second, done) {
			t.Cleanup(stop)
			return s
		}
		stop()
		log, _ := os.ReadFile(out.Name())
		t.Logf("chronyd on port %d did not answer (retrying):\n%s", port, log)
	}
	t.Fatalf("chronyd did not start serving on loopback")
	return nil
}

// answers reports whether an NTP server answers a client request at addr
// within d (false at once if exited closes).
func answers(addr netip.AddrPort, d time.Duration, exited <-chan struct{}) bool {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return false
	}
	defer c.Close()
	req := make([]byte, 48)
	req[0] = 0x23 // version 4, mode 3
	buf := make([]byte, 512)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && n >= 48 && buf[0]&7 == 4 {
			return true
		}
	}
	return false
}
