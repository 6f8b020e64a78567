package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/privdrop"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/server"
)

func TestSimKeep(t *testing.T) {
	for _, c := range []struct {
		listen []string
		want   string
	}{
		{[]string{"127.0.0.1:11123"}, "none"},
		{[]string{"127.0.0.1:0"}, "none"},
		{[]string{"[::1]:4123", "127.0.0.1:123"}, "CAP_NET_BIND_SERVICE"},
		{[]string{"0.0.0.0:123"}, "CAP_NET_BIND_SERVICE"},
		{[]string{"0.0.0.0:1024"}, "none"},
	} {
		if got := privdrop.Names(simKeep(c.listen)); got != c.want {
			t.Errorf("simKeep(%q) keeps %s, want %s", c.listen, got, c.want)
		}
	}
}

// TestPlanPrivileges: a root start without system.user switches to the
// dedicated user when it exists and otherwise keeps uid 0 saying why; a
// configured user always wins; a non-root start changes no id.
func TestPlanPrivileges(t *testing.T) {
	old := defaultUser
	defer func() { defaultUser = old }()

	defaultUser = freeUserName(t)
	p, err := planPrivileges("", "", 0, privdrop.Keep)
	if err != nil || p.uid != -1 || p.gid != -1 || p.userName != "" || !strings.Contains(p.why, defaultUser) {
		t.Errorf("root, no system.user, no %s: %+v, %v; want uid kept with the reason", defaultUser, p, err)
	}
	// An existing account stands in for the dedicated user.
	defaultUser = "nobody"
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	p, err = planPrivileges("", "", 0, privdrop.Keep)
	if err != nil || p.userName != "nobody" || strconv.Itoa(p.uid) != nobody.Uid || strconv.Itoa(p.gid) != nobody.Gid {
		t.Errorf("root, no system.user, user %s exists: %+v, %v; want a switch to it", defaultUser, p, err)
	}
	p, err = planPrivileges("root", "", 0, privdrop.Keep)
	if err != nil || p.userName != "root" || p.uid != 0 || p.why == "" {
		t.Errorf("system.user root: %+v, %v; want uid 0 with its reason", p, err)
	}
	p, err = planPrivileges("", "", 1000, nil)
	if err != nil || p.uid != -1 || p.gid != -1 || p.userName != "" {
		t.Errorf("non-root start: %+v, %v; want no id change", p, err)
	}
	if _, err := planPrivileges(freeUserName(t), "", 0, nil); err == nil {
		t.Error("a configured user that does not exist is accepted")
	}
}

// TestHardwarePlansDefaultUser: runHardware started as root without
// system.user hands the drop the dedicated user and the two capabilities.
func TestHardwarePlansDefaultUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (make test runs as root)")
	}
	old := defaultUser
	defer func() { defaultUser = old }()
	defaultUser = "nobody"
	var got privileges
	stop := fmt.Errorf("stop here")
	dev := simHatDevices(t, func(_ *slog.Logger, p privileges) error { got = p; return stop })
	noSocket := ""
	f := &runFlags{config: dev.cfgPath}
	f.views.controlSocket = &noSocket
	err := runHardwareWith(t.Context(), f, io.Discard, dev.devices)
	if err == nil || !strings.Contains(err.Error(), "stop here") {
		t.Fatalf("run: %v, want the drop's error", err)
	}
	if got.userName != "nobody" || got.uid <= 0 || privdrop.Mask(got.keep) != privdrop.Mask(privdrop.Keep) {
		t.Errorf("drop planned %+v, want user nobody keeping CAP_SYS_TIME and CAP_NET_BIND_SERVICE", got)
	}
}

// TestSimPrivilegesEveryThread runs the shipped binary (no cgo) as root as
// gnomon run --sim, without system.user, and reads every thread's
// /proc/PID/task/TID/status once it has dropped: with no dedicated user it
// stays uid 0 and says so at warn, never "privileges dropped"; with the
// user (a temporary account this test creates and removes, compiled in as
// the dedicated user's name) every thread runs as that user; either way no
// thread keeps a capability on an unprivileged port, and on port 123-style
// privileged ports only CAP_NET_BIND_SERVICE, never CAP_SYS_TIME.
func TestSimPrivilegesEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (make test runs as root)")
	}
	name := freeUserName(t)
	bin := buildWithDefaultUser(t, name)

	// No such user: uid 0 stays, the log says so.
	p := startPriv(t, bin, "127.0.0.1:0")
	checkThreads(t, p, 0, 0)
	if strings.Contains(p.Log(), "privileges dropped") || !strings.Contains(p.Log(), "level=WARN msg=\"running as root: the uid stays 0") {
		t.Errorf("uid 0 kept, but the log does not say so at warn (or claims a drop):\n%s", p.Log())
	}
	p.stop(t)

	// The dedicated user exists: every thread switches to it.
	uid := addTempUser(t, name)
	p = startPriv(t, bin, "127.0.0.1:0")
	checkThreads(t, p, uid, 0)
	if !strings.Contains(p.Log(), `msg="privileges dropped" user=`+name) || strings.Contains(p.Log(), "uid stays 0") {
		t.Errorf("switched to %s, but the log does not say so:\n%s", name, p.Log())
	}
	p.stop(t)

	// A privileged port: CAP_NET_BIND_SERVICE and nothing else.
	p = startPriv(t, bin, fmt.Sprintf("127.0.0.1:%d", freePrivilegedPort(t)))
	checkThreads(t, p, uid, privdrop.Mask([]int{privdrop.CapNetBindService}))
	p.stop(t)
}

// freeUserName returns an account name that does not exist.
func freeUserName(t *testing.T) string {
	t.Helper()
	for {
		n := fmt.Sprintf("gnmt%06d", rand.IntN(1000000))
		if _, err := user.Lookup(n); err != nil {
			return n
		}
	}
}

// addTempUser creates the system account name (which must not exist) and
// removes it when the test ends; it returns its uid.
func addTempUser(t *testing.T, name string) int {
	t.Helper()
	if _, err := user.Lookup(name); err == nil {
		t.Fatalf("user %s exists already: not touching it", name)
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid
}

// buildWithDefaultUser builds the command as shipped (no cgo) with name as
// its dedicated user.
func buildWithDefaultUser(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gnomon")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.defaultUser="+name, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The temporary user must reach nothing of the test's; the binary is
	// started by root, so it needs no access either.
	return bin
}

// freePrivilegedPort returns a loopback UDP port below 1024 that is free now.
func freePrivilegedPort(t *testing.T) int {
	t.Helper()
	for port := 1023; port > 900; port-- {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("no free port below 1024")
	return 0
}

// startPriv starts bin as gnomon run --sim on listen and waits until it
// has dropped (or said it keeps uid 0).
func startPriv(t *testing.T, bin, listen string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "run", "--sim", "--ntp-listen", listen, "--control-socket", "")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	dropped := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if strings.Contains(line, "privileges dropped") || strings.Contains(line, "uid stays 0") {
				once.Do(func() { close(dropped) })
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case <-dropped:
	case <-p.done:
		t.Fatalf("gnomon exited before dropping: %v\n%s", p.err, p.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("gnomon did not drop within 30 s\n%s", p.Log())
	}
	// The threads started after the drop inherit it; give them a moment
	// to exist.
	time.Sleep(300 * time.Millisecond)
	return p
}

// checkThreads reads every thread's status and wants uid (real,
// effective, saved, fs) on each, CapEff = CapPrm = CapBnd = caps, no
// ambient or inheritable capability, and no_new_privs.
func checkThreads(t *testing.T, p *proc, uid int, caps uint64) {
	t.Helper()
	pid := p.cmd.Process.Pid
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads of %d: %v %v", pid, tasks, err)
	}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				f[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		u := strconv.Itoa(uid)
		if f["Uid"] != strings.Join([]string{u, u, u, u}, " ") {
			t.Errorf("%s: Uid %q, want %d on all four", path, f["Uid"], uid)
		}
		want := fmt.Sprintf("%016x", caps)
		if f["NoNewPrivs"] != "1" {
			t.Errorf("%s: NoNewPrivs %q, want 1", path, f["NoNewPrivs"])
		}
		for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
			if f[k] != want {
				t.Errorf("%s: %s %s, want %s", path, k, f[k], want)
			}
		}
		for _, k := range []string{"CapInh", "CapAmb"} {
			if f[k] != "0000000000000000" {
				t.Errorf("%s: %s %s, want none", path, k, f[k])
			}
		}
	}
	t.Logf("%d threads of pid %d: uid %d, CapEff/CapPrm %016x", len(tasks), pid, uid, caps)
}

// hatDevices are devices for runHardwareWith that need no hardware: a
// serial port that never speaks, no PPS, a simulated clock.
type hatDevices struct {
	devices
	cfgPath string
}

func simHatDevices(t *testing.T, drop func(*slog.Logger, privileges) error) hatDevices {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gnomon.toml")
	doc := fmt.Sprintf(`[board]
serial_path = "/dev/null"
baud = 9600
pps_device = "/dev/pps-none"

[discipline]
drift_file = %q
leap_seconds_file = ""

[server]
listen = ["127.0.0.1:0"]

[system]
user = ""
`, filepath.Join(dir, "drift"))
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := discipline.NewSimClock(discipline.SimClockConfig{Seed: 1}, time.Now)
	return hatDevices{cfgPath: cfgPath, devices: devices{
		openSerial: func(string, int) (io.ReadCloser, error) {
			r, w := io.Pipe()
			t.Cleanup(func() { w.Close() })
			return r, nil
		},
		openPPS: func(board.Hat, board.OpenOptions) (pps.Source, error) { return nil, board.ErrNoPPS },
		clock:   func() (discipline.Clock, server.TimeSource, error) { return clk, simTime{clk}, nil },
		drop:    drop,
	}}
}
