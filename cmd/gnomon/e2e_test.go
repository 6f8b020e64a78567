package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// lockDeadline is how long a fresh sim-mode gnomon may take to serve
// stratum 1 (the brief's bound; it locks in seconds).
const lockDeadline = 60 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gnomonBin builds the command once per test run, as shipped: without cgo
// (the privilege drop needs it, and the Pi binaries are built that way).
func gnomonBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gnomon-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "gnomon")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a gnomon process started by a test.
type proc struct {
	cmd  *exec.Cmd
	addr string // the NTP address it serves, host:port

	mu   sync.Mutex
	log  strings.Builder
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// Log returns what the process has logged so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

var servingRE = regexp.MustCompile(`msg="serving NTP" addr=(\S+)`)

// startSim starts "gnomon run --sim" on a free loopback port and waits until
// it serves. The process is stopped (by its PID) when the test ends.
func startSim(t *testing.T, extra ...string) *proc {
	t.Helper()
	args := append([]string{"run", "--sim", "--ntp-listen", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(gnomonBin(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		t.Fatalf("gnomon exited before serving: %v\n%s", p.err, p.Log())
	case <-time.After(20 * time.Second):
		t.Fatalf("gnomon did not report its address within 20 s\n%s", p.Log())
	}
	return p
}

// stop sends SIGTERM to the process this test started and waits for it,
// killing it if it does not exit within 10 s. It returns the exit error.
func (p *proc) stop(t *testing.T) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("gnomon did not stop within 10 s of SIGTERM\n%s", p.Log())
	}
	return p.err
}

func (p *proc) hostPort(t *testing.T) (string, int) {
	t.Helper()
	i := strings.LastIndexByte(p.addr, ':')
	port, err := strconv.Atoi(p.addr[i+1:])
	if err != nil {
		t.Fatalf("bad address %q", p.addr)
	}
	return p.addr[:i], port
}

// refIDPPS is "PPS\0", the reference identifier of a PPS-locked stratum 1.
const refIDPPS = 0x50505300

// TestSimServesStratum1 checks the appliance from outside with a Go NTP
// client: a fresh start must serve stratum 1, refid PPS, leap 0, within a
// millisecond of the host clock (true time in simulation).
func TestSimServesStratum1(t *testing.T) {
	p := startSim(t)
	host, port := p.hostPort(t)
	start := time.Now()
	var last *ntp.Response
	var lastErr error
	for time.Since(start) < lockDeadline {
		r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
		last, lastErr = r, err
		if err == nil && r.Stratum == 1 && r.ReferenceID == refIDPPS && r.Leap == ntp.LeapNoWarning &&
			r.ClockOffset.Abs() < time.Millisecond {
			if err := r.Validate(); err != nil {
				t.Fatalf("synchronised answer fails validation: %v (%+v)", err, r)
			}
			t.Logf("stratum 1 / %s after %v: offset %v, rtt %v, root dispersion %v, precision %v",
				r.ReferenceString(), time.Since(start).Round(time.Millisecond), r.ClockOffset, r.RTT, r.RootDispersion, r.Precision)
			if r.RootDispersion > 10*time.Millisecond {
				t.Errorf("root dispersion %v is not that of a locked refclock", r.RootDispersion)
			}
			return
		}
		// 2.5 s between queries stays inside the server's default rate limit.
		time.Sleep(2500 * time.Millisecond)
	}
	t.Fatalf("no stratum 1 / PPS answer within %v; last: %+v, err %v\n%s", lockDeadline, last, lastErr, p.Log())
}

var (
	// measurements.log: date time address leap stratum ... refid ...
	chronyMeasRE = regexp.MustCompile(`^\S+ \S+ 127\.0\.0\.1\s+(\S)\s+(\d+)\s.*\s([0-9A-F]{8})\s+[0-9A-F]{2}\s`)
)

// TestSimWithChronyd asks chronyd (-Q: measure, never set the clock) for the
// offset of the appliance, and reads from chronyd's measurement log the
// leap status, stratum and refid it saw.
func TestSimWithChronyd(t *testing.T) {
	chronyd := testpeer.Chronyd(t)
	p := startSim(t)
	_, port := p.hostPort(t)
	start := time.Now()
	var out []byte
	for time.Since(start) < lockDeadline {
		logdir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, chronyd, "-Q", "-u", "root", "-t", "10", "-f", "/dev/null",
			fmt.Sprintf("server 127.0.0.1 port %d iburst maxsamples 1", port),
			"logdir "+logdir, "log measurements")
		var err error
		out, err = cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("chronyd: %v\n%s", err, out)
		}
		off, measured := testpeer.ParseChronydQ(string(out))
		meas, _ := os.ReadFile(filepath.Join(logdir, "measurements.log"))
		var mm []string
		for _, l := range strings.Split(string(meas), "\n") {
			if x := chronyMeasRE.FindStringSubmatch(l); x != nil {
				mm = x
			}
		}
		out = append(out, meas...)
		if measured && mm != nil {
			leap, stratum, refid := mm[1], mm[2], mm[3]
			if stratum == "1" && leap == "N" && refid == "50505300" && math.Abs(off) < 1e-3 {
				t.Logf("chronyd after %v: offset %.6f s, stratum %s, leap %s, refid %s (PPS)",
					time.Since(start).Round(time.Millisecond), off, stratum, leap, refid)
				return
			}
			t.Logf("not yet: offset %.6f s, stratum %s, leap %s, refid %s", off, stratum, leap, refid)
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("chronyd never saw stratum 1 / PPS within 1 ms in %v; last output:\n%s\ngnomon:\n%s", lockDeadline, out, p.Log())
}

// TestSIGTERMWritesDrift checks the shutdown path: SIGTERM stops gnomon
// cleanly (exit 0) and the drift file then holds the learned frequency
// (the simulated crystal is 30 ppm fast, so about -30000 ppb).
func TestSIGTERMWritesDrift(t *testing.T) {
	drift := filepath.Join(t.TempDir(), "drift")
	p := startSim(t, "--drift-file", drift)
	deadline := time.Now().Add(lockDeadline)
	for !strings.Contains(p.Log(), `msg="lock gained"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no lock within %v\n%s", lockDeadline, p.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a few locked samples for the frequency
	if err := p.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Log())
	}
	d, err := discipline.ReadDrift(drift)
	if err != nil {
		t.Fatalf("drift file after shutdown: %v\n%s", err, p.Log())
	}
	if d.FreqPPB > -25000 || d.FreqPPB < -35000 {
		t.Errorf("drift file frequency %.0f ppb, want about -30000 (the sim crystal is 30 ppm fast)", d.FreqPPB)
	}
	for _, want := range []string{`msg="clock stepped"`, `msg="lock gained"`, `msg=stopped`} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("log lacks %s\n%s", want, p.Log())
		}
	}
}

// TestSimDropsPrivileges runs sim mode with --user nobody on an
// unprivileged port: after binding, every thread must run as nobody with
// no capability at all (bounding set included; the simulated clock needs
// no CAP_SYS_TIME) and no_new_privs, and the server must still answer.
func TestSimDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to drop privileges from (make test runs as root)")
	}
	p := startSim(t, "--user", "nobody")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Log(), `msg="privileges dropped"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no privilege drop logged\n%s", p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", p.cmd.Process.Pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads of gnomon: %v %v", tasks, err)
	}
	for _, st := range tasks {
		b, err := os.ReadFile(st)
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		checks := map[string]string{
			"Uid": "65534 65534 65534 65534", "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
			"CapBnd": "0000000000000000", "CapInh": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1",
		}
		for k, want := range checks {
			if fields[k] != want {
				t.Errorf("%s: %s = %q, want %q", st, k, fields[k], want)
			}
		}
	}
	host, port := p.hostPort(t)
	if _, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second}); err != nil {
		t.Errorf("no answer after the privilege drop: %v", err)
	}
}

// TestNoRateLimit: with --no-rate-limit (make bench-server) a burst from one
// address far beyond the default limit (16 back to back) is answered whole.
func TestNoRateLimit(t *testing.T) {
	p := startSim(t, "--no-rate-limit")
	host, port := p.hostPort(t)
	for i := 0; i < 64; i++ {
		r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("request %d of a burst: %v\n%s", i+1, err, p.Log())
		}
		if r.Stratum == 0 {
			t.Fatalf("request %d: kiss-o'-death %s", i+1, r.KissCode)
		}
	}
}

// TestSimWrongReceiverDateRefused: a receiver claiming 2038 (and 2080) from
// start-up is refused with its date named, the clock is never stepped, and
// nothing is served as synchronised.
func TestSimWrongReceiverDateRefused(t *testing.T) {
	for _, tc := range []struct {
		err  string
		year string
	}{{"105192h", "2038-"}, {"473376h", "2080-"}} {
		p := startSim(t, "--sim-gps-error", tc.err)
		host, port := p.hostPort(t)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
			if err == nil && (r.Stratum != 16 || r.Leap != ntp.LeapNotInSync) {
				t.Fatalf("%s: served stratum %d leap %d from a wrong receiver date\n%s", tc.err, r.Stratum, r.Leap, p.Log())
			}
			time.Sleep(2500 * time.Millisecond)
		}
		log := p.Log()
		if !strings.Contains(log, "sample refused") || !strings.Contains(log, "reference time "+tc.year) {
			t.Errorf("%s: no refusal naming %s in the log:\n%s", tc.err, tc.year, log)
		}
		if strings.Contains(log, "clock stepped") {
			t.Errorf("%s: the clock was stepped:\n%s", tc.err, log)
		}
		p.stop(t)
	}
}

// TestSimSpoofedGPSOutvoted: a simulated GPS one second off, against three
// honest upstreams and one liar 100 ms off, is marked a falseticker and
// never steers the clock: gnomon serves the upstreams' time at stratum 2
// within a millisecond of the host clock.
func TestSimSpoofedGPSOutvoted(t *testing.T) {
	args := []string{"--sim-gps-error", "1s"}
	for _, off := range []time.Duration{0, 0, 0, 100 * time.Millisecond} {
		s := testpeer.StartNTPServer(t, off)
		args = append(args, "--upstream", s.Addr.String()+" minpoll 1 maxpoll 2")
	}
	p := startSim(t, args...)
	host, port := p.hostPort(t)
	deadline := time.Now().Add(90 * time.Second)
	var last *ntp.Response
	for time.Now().Before(deadline) {
		r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
		if err == nil {
			last = r
			if r.Stratum == 1 {
				t.Fatalf("served stratum 1 from a GPS one second off\n%s", p.Log())
			}
			if r.Stratum == 2 && r.Leap == ntp.LeapNoWarning && r.ClockOffset.Abs() < time.Millisecond {
				break
			}
		}
		time.Sleep(2500 * time.Millisecond)
	}
	if last == nil || last.Stratum != 2 || last.ClockOffset.Abs() >= time.Millisecond {
		t.Fatalf("no stratum 2 answer within 1 ms: %+v\n%s", last, p.Log())
	}
	log := p.Log()
	if !strings.Contains(log, `falseticker: it disagrees with the others and is not used" part=discipline source=GPS`) {
		t.Errorf("the GPS was not marked a falseticker:\n%s", log)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "clock stepped") && strings.Contains(l, "step=99") {
			t.Errorf("stepped toward the lying GPS: %s", l)
		}
	}
}
