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
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	childEnv = "GNOMON_PRIVDROP_CHILD"
	nobody   = 65534
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
	if err := Drop(nobody, nobody, Keep); err != nil {
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
	out, err := cmd.CombinedOutput()
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
		case "CapPrm:", "CapEff:", "CapBnd:":
			if f[1] != want {
				t.Errorf("%s: want %s (CAP_SYS_TIME, CAP_NET_BIND_SERVICE)", l, want)
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
}

func TestMask(t *testing.T) {
	if got := Mask(Keep); got != 1<<25|1<<10 {
		t.Errorf("Mask(Keep) = %#x", got)
	}
}
