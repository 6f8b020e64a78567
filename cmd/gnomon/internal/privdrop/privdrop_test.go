package privdrop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	childEnv   = "GNOMON_PRIVDROP_CHILD"
	ambientEnv = "GNOMON_PRIVDROP_AMBIENT"
	nobody     = 65534
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child(os.Getenv(childEnv)))
	}
	os.Exit(m.Run())
}

// child runs in a child process of the test binary: it makes sure the
// process has several threads, drops, and prints what it then holds.
func child(secret string) int {
	// Threads parked in system calls, so the drop has more than one to reach.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			<-stop
		}()
	}
	time.Sleep(50 * time.Millisecond)
	uid, gid := nobody, nobody
	if os.Getenv(ambientEnv) != "" {
		uid, gid = -1, -1 // started as nobody with ambient capabilities
	}
	if err := Drop(uid, gid, Keep); err != nil {
		fmt.Println("drop error:", err)
		return 1
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	fmt.Println("threads", len(tasks))
	for _, p := range tasks {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l := sc.Text()
			for _, k := range []string{"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:"} {
				if strings.HasPrefix(l, k) {
					fmt.Println(strings.Join(strings.Fields(l), " "))
				}
			}
		}
		f.Close()
	}
	// A root-only file is now out of reach (CAP_DAC_OVERRIDE is gone)...
	if f, err := os.Open(secret); err == nil {
		f.Close()
		fmt.Println("secret readable")
	} else {
		fmt.Println("secret unreadable")
	}
	// ...but a privileged port can still be bound (CAP_NET_BIND_SERVICE).
	fmt.Println("bind", bindPrivileged())
	close(stop)
	wg.Wait()
	return 0
}

// bindPrivileged binds a UDP socket to a free loopback port below 1024.
func bindPrivileged() string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err.Error()
	}
	defer unix.Close(fd)
	for port := 1000; port > 900; port-- {
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
		if err != unix.EADDRINUSE {
			break
		}
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func TestDropKeepsOnlyTimeAndBind(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test drops root privileges in a child process: run it as root (make test does)")
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+secret)
	checkChild(t, cmd, fmt.Sprintf("%016x", Mask(Keep)))
}

// TestDropFromAmbient is the systemd case: started as the final user with
// the kept capabilities ambient (User=, AmbientCapabilities=), Drop keeps
// them effective and permitted, clears the ambient set and sets
// no_new_privs; it cannot clear the bounding set without CAP_SETPCAP.
func TestDropFromAmbient(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts a child as nobody: run it as root (make test does)")
	}
	// nobody must be able to reach and run the test binary.
	dir, err := os.MkdirTemp("", "privdrop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "privdrop.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+secret, ambientEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: nobody, Gid: nobody},
		AmbientCaps: []uintptr{CapSysTime, CapNetBindService},
	}
	b2, _ := os.ReadFile("/proc/self/status")
	bnd := ""
	for _, l := range strings.Split(string(b2), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "CapBnd:" {
			bnd = f[1]
		}
	}
	checkChild(t, cmd, bnd)
}

// checkChild runs the child and checks every thread's ids and capability
// sets in its report; wantBnd is the bounding set expected.
func checkChild(t *testing.T, cmd *exec.Cmd, wantBnd string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if raceEnabled {
		// A cgo-linked binary cannot reach every thread: Drop must refuse
		// before changing anything rather than drop half-way.
		if err == nil || !strings.Contains(string(out), ErrCgo.Error()) || strings.Contains(string(out), "Uid:") {
			t.Errorf("with cgo linked (race detector) Drop did not refuse with ErrCgo: %v\n%s", err, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%016x", Mask(Keep))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	counts := map[string]int{}
	threads := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "threads":
			threads, _ = strconv.Atoi(f[1])
		case "Uid:", "Gid:":
			for _, id := range f[1:] {
				if id != strconv.Itoa(nobody) {
					t.Errorf("%s: want every id %d", l, nobody)
				}
			}
		case "Groups:":
			if len(f) > 1 {
				t.Errorf("%s: want no supplementary groups", l)
			}
		case "CapPrm:", "CapEff:":
			if f[1] != want {
				t.Errorf("%s: want %s (CAP_SYS_TIME, CAP_NET_BIND_SERVICE)", l, want)
			}
		case "CapBnd:":
			if f[1] != wantBnd {
				t.Errorf("%s: want %s", l, wantBnd)
			}
		case "CapInh:", "CapAmb:":
			if f[1] != "0000000000000000" {
				t.Errorf("%s: want empty", l)
			}
		case "NoNewPrivs:":
			if f[1] != "1" {
				t.Errorf("%s: want 1", l)
			}
		case "secret":
			if f[1] != "unreadable" {
				t.Errorf("a 0600 root file is still readable after the drop")
			}
		case "bind":
			if f[1] != "ok" {
				t.Errorf("binding a port below 1024 failed after the drop: %s", l)
			}
		}
		counts[f[0]]++
	}
	if threads < 5 {
		t.Errorf("child had %d threads, want at least 5 (the drop must reach them all)\n%s", threads, out)
	}
	for _, k := range []string{"Uid:", "CapEff:", "CapBnd:", "NoNewPrivs:"} {
		if counts[k] != threads {
			t.Errorf("%d %s lines for %d threads\n%s", counts[k], k, threads, out)
		}
	}
	if counts["bind"] != 1 || counts["secret"] != 1 {
		t.Errorf("child report incomplete:\n%s", out)
	}
}

func TestMask(t *testing.T) {
	if got := Mask(Keep); got != 1<<25|1<<10 {
		t.Errorf("Mask(Keep) = %#x", got)
	}
}
