package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// netns is a network namespace of the test's own: its loopback is up and
// nothing else is in it, so servers may take port 123 and clients may flood.
type netns struct{ name string }

var nsSeq atomic.Int32

// newNetns creates the namespace and deletes it when the test ends (after
// the processes started in it, as cleanups run last-in first-out).
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("interop tests need root (network namespaces, port 123): run them as make test does in CI")
	}
	n := &netns{name: fmt.Sprintf("gnomon-test-%d-%d", os.Getpid(), nsSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	if out, err := n.command(context.Background(), "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up in %s: %v: %s", n.name, err, out)
	}
	return n
}

// command runs name inside the namespace (ip netns exec execs it, so the
// PID of the command is the PID of name itself).
func (n *netns) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// run runs a client to completion (at most timeout) and returns its
// standard output and error.
func (n *netns) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := n.command(ctx, name, args...)
	c.WaitDelay = time.Second
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %s: %w", filepath.Base(name), timeout, ctx.Err())
	}
	return out.String(), errb.String(), err
}

// proc is a long-running process (a server or tshark) in a namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its stdout and stderr
	done chan struct{}
	err  error
}

// start starts name in the namespace with its output in a file; a cleanup
// stops it (SIGTERM, then SIGKILL) by its PID if it is still running.
func (n *netns) start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: filepath.Base(name), cmd: n.command(context.Background(), name, args...), log: logPath, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM, 5*time.Second); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("--- %s output (last 3000 bytes):\n%s", p.name, tail(p.output(), 3000))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process (by its PID) and waits up to grace for it
// to end, then kills it.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return fmt.Errorf("%s (pid %d) ignored %v for %s and was killed", p.name, p.cmd.Process.Pid, sig, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitOutput waits up to timeout for the process to print substr.
func (p *proc) waitOutput(substr string, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if strings.Contains(p.output(), substr) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited (%v) before printing %q", p.name, p.err, substr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not print %q within %s", p.name, substr, timeout)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	buildD  string
)

// build compiles a command of this module once per test binary run and
// returns the path of the executable.
func build(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildD == "" {
		d, err := os.MkdirTemp("", "gnomon-interop-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildD = d
	}
	out := filepath.Join(buildD, filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/gnomon-ntp/gnomon/"+pkg)
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildD != "" {
		_ = os.RemoveAll(buildD)
	}
	os.Exit(code)
}

// capture is tshark writing every packet on the namespace's loopback to
// and from port 123 (a 32 MiB kernel buffer, so a flood on a busy machine
// is not lost before dumpcap reads it).
type capture struct {
	p    *proc
	file string
}

func startCapture(t *testing.T, ns *netns, name string) *capture {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".pcapng")
	c := &capture{p: ns.start(t, testpeer.Tshark(t), "-i", "lo", "-B", "32", "-f", "udp port 123", "-w", file), file: file}
	// tshark prints "Capturing on" before dumpcap has the interface open;
	// dumpcap's "Capture started." comes once the filter is on it and the
	// file is open. A little slack on top: a missed first packet would fail
	// the exchange checks.
	if err := c.p.waitOutput("Capture started.", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	return c
}

// stop ends the capture (tshark flushes the file on SIGINT).
func (c *capture) stop(t *testing.T) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // let the last replies reach the file
	if err := c.p.stop(syscall.SIGINT, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// packet is one NTP datagram as tshark's dissector reads it.
type packet struct {
	frame           string
	src, dst        string // ports
	mode            string
	stratum, refid  string
	xmt, org        string
	ctlResp, ctlSeq string
	ctlMore, ctlErr string
	udpLen          string // UDP length: header and payload
}

// malformed returns tshark's listing of the packets its NTP dissector
// finds malformed (or flags with an error) in the capture.
func (c *capture) malformed(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testpeer.Tshark(t), "-r", c.file, "-d", "udp.port==123,ntp", "-Y", "_ws.malformed || _ws.expert.severity >= error").Output()
	if err != nil {
		t.Fatalf("tshark malformed check: %v", errOut(err))
	}
	return strings.TrimSpace(string(out))
}

// read dissects the capture as NTP on port 123: it fails the test if any
// packet is malformed, and returns the packets.
func (c *capture) read(t *testing.T) []packet {
	t.Helper()
	if s := c.malformed(t); s != "" {
		t.Errorf("tshark flags packets of %s as malformed:\n%s", filepath.Base(c.file), s)
	}
	tshark := testpeer.Tshark(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tshark, "-r", c.file, "-d", "udp.port==123,ntp", "-T", "fields", "-E", "separator=|",
		"-e", "frame.number", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "ntp.flags.mode",
		"-e", "ntp.stratum", "-e", "ntp.refid", "-e", "ntp.xmt", "-e", "ntp.org",
		"-e", "ntp.ctrl.flags2.r", "-e", "ntp.ctrl.sequence", "-e", "ntp.ctrl.flags2.more", "-e", "ntp.ctrl.flags2.error", "-e", "udp.length").Output()
	if err != nil {
		t.Fatalf("tshark fields: %v", errOut(err))
	}
	var ps []packet
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) != 13 {
			t.Fatalf("tshark field line %q", l)
		}
		ps = append(ps, packet{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]})
	}
	return ps
}

func errOut(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return err
}

// checkExchanges checks that every client (mode 3) request in ps has a
// server (mode 4) reply to the same port echoing its transmit timestamp, no
// longer than the request (no amplification), and every reply answers a
// request; the same for mode 6 by sequence number.
// It returns the number of mode 3 and mode 6 requests.
func checkExchanges(t *testing.T, ps []packet) (n3, n6 int) {
	t.Helper()
	req := map[string]packet{}  // port|xmt
	ans := map[string]bool{}    // port|org
	ctlReq := map[string]bool{} // port|seq
	ctlAns := map[string]bool{}
	for _, p := range ps {
		switch p.mode {
		case "3":
			req[p.src+"|"+p.xmt] = p
			n3++
		case "4":
			ans[p.dst+"|"+p.org] = true
			q, ok := req[p.dst+"|"+p.org]
			if !ok {
				t.Errorf("frame %s: reply to port %s with origin %s answers no request captured before it", p.frame, p.dst, p.org)
			} else if atoi(p.udpLen) > atoi(q.udpLen) {
				t.Errorf("frame %s: %s-octet reply to the %s-octet request of frame %s", p.frame, p.udpLen, q.udpLen, q.frame)
			}
		case "6":
			if p.ctlResp == "1" || p.ctlResp == "True" {
				ctlAns[p.dst+"|"+p.ctlSeq] = true
				if !ctlReq[p.dst+"|"+p.ctlSeq] {
					t.Errorf("frame %s: mode 6 response seq %s to port %s answers no request", p.frame, p.ctlSeq, p.dst)
				}
			} else {
				ctlReq[p.src+"|"+p.ctlSeq] = true
				n6++
			}
		default:
			t.Errorf("frame %s: unexpected NTP mode %q", p.frame, p.mode)
		}
	}
	for k, q := range req {
		if !ans[k] {
			t.Errorf("frame %s: request from port/xmt %s got no reply", q.frame, k)
		}
	}
	for k := range ctlReq {
		if !ctlAns[k] {
			t.Errorf("mode 6 request port/seq %s got no response", k)
		}
	}
	return n3, n6
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
