package interop

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// ntpdig queries host with ntpsec's ntpdig (never setting the clock: no -s/-S).
func ntpdig(t *testing.T, ns *netns, args ...string) testpeer.SNTP {
	t.Helper()
	stdout, stderr, err := ns.run(t, 30*time.Second, testpeer.Python3, append([]string{testpeer.Ntpdig(t), "-t", "5"}, args...)...)
	if err != nil {
		t.Fatalf("ntpdig %v: %v\nstdout: %s\nstderr: %s", args, err, stdout, stderr)
	}
	r, err := testpeer.ParseNtpdig(stdout)
	if err != nil {
		t.Fatalf("ntpdig %v: %v (stderr %q)", args, err, stderr)
	}
	return r
}

// ntpdate runs ntpsec's ntpdate shim with -q (query only: it never sets
// the clock). The shim is a shell script running ntpdig from PATH, whose
// first line names /usr/bin/python3.
func ntpdate(t *testing.T, ns *netns, host string) testpeer.SNTP {
	t.Helper()
	stdout, stderr, err := ns.run(t, 30*time.Second, testpeer.Ntpdate(t), "-q", "-t", "5", host)
	if err != nil {
		t.Fatalf("ntpdate -q %s: %v\nstdout: %s\nstderr: %s", host, err, stdout, stderr)
	}
	r, err := testpeer.ParseNtpdig(stdout)
	if err != nil {
		t.Fatalf("ntpdate -q %s: %v (stderr %q)", host, err, stderr)
	}
	return r
}

// ntpq runs ntpsec's ntpq with args. ntpq exits 0 even when the server
// never answers ("***Request timed out" on stderr), so that is checked here.
func ntpq(t *testing.T, ns *netns, args ...string) string {
	t.Helper()
	stdout, stderr, err := ns.run(t, 30*time.Second, testpeer.Python3, append([]string{testpeer.Ntpq(t)}, args...)...)
	if err != nil {
		t.Fatalf("ntpq %v: %v\nstdout: %s\nstderr: %s", args, err, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "***") {
		t.Fatalf("ntpq %v failed:\nstdout: %s\nstderr: %s", args, stdout, stderr)
	}
	return stdout
}

// ntpqPeer is one row of `ntpq -p`.
type ntpqPeer struct {
	tally          byte
	remote, refid  string
	stratum, reach string
	offsetMs       float64
}

// parsePeers reads the rows under the ===== line of `ntpq -p`.
func parsePeers(out string) ([]ntpqPeer, error) {
	_, body, ok := strings.Cut(out, "=====\n")
	if !ok {
		return nil, fmt.Errorf("no peer table in %q", out)
	}
	body = strings.TrimLeft(body, "=")
	var ps []ntpqPeer
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		f := strings.Fields(l[1:])
		// remote refid st t when poll reach delay offset jitter
		if len(f) != 10 {
			return nil, fmt.Errorf("peer row %q: %d fields", l, len(f))
		}
		off, err := strconv.ParseFloat(f[8], 64)
		if err != nil {
			return nil, fmt.Errorf("peer row %q: offset: %w", l, err)
		}
		ps = append(ps, ntpqPeer{tally: l[0], remote: f[0], refid: f[1], stratum: f[2], reach: f[6], offsetMs: off})
	}
	return ps, nil
}

// parseVars reads `ntpq -c rv` output: "name=value, name=value," over
// several lines; quoted values keep their commas.
func parseVars(out string) map[string]string {
	vars := map[string]string{}
	s := strings.ReplaceAll(out, "\n", " ")
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		name := strings.TrimSpace(s[:eq])
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:end+1], s[end+2:]
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				val, s = strings.TrimSpace(s), ""
			} else {
				val, s = strings.TrimSpace(s[:end]), s[end+1:]
			}
		}
		// "status=0100 leap_none, sync_pps, ..." keeps only its first word.
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name = name[strings.LastIndexByte(name, ' ')+1:]
		}
		vars[name] = val
	}
	return vars
}

// chronyQ asks chronyd -Q (measure once, print, never touch the clock) for
// the offset of the server at addr:123, in seconds (positive: local clock ahead).
func chronyQ(t *testing.T, ns *netns, addr string) float64 {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony-q.conf")
	body := fmt.Sprintf("server %s iburst maxsamples 1\npidfile %s\ncmdport 0\n", addr, filepath.Join(dir, "chronyd.pid"))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := ns.run(t, 30*time.Second, testpeer.Chronyd(t), "-Q", "-u", "root", "-t", "10", "-f", conf)
	if err != nil {
		t.Fatalf("chronyd -Q: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	v, ok := testpeer.ParseChronydQ(stdout + stderr)
	if !ok {
		t.Fatalf("chronyd -Q measured nothing:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	return v
}

// loadResult is the part of ntpload's -json line the tests read.
type loadResult struct {
	Sent     uint64  `json:"sent"`
	Answered uint64  `json:"answered"`
	KoD      uint64  `json:"kod"`
	KoDRate  uint64  `json:"kod_rate"`
	Loss     float64 `json:"loss"`
	Stratum  uint8   `json:"stratum"`
	RefID    string  `json:"refid"`
}

// ntpload runs our load generator in the namespace with args and -json.
func ntpload(t *testing.T, ns *netns, args ...string) loadResult {
	t.Helper()
	bin := build(t, "cmd/ntpload")
	stdout, stderr, err := ns.run(t, 60*time.Second, bin, append(args, "-json")...)
	if err != nil {
		t.Fatalf("ntpload %v: %v\nstdout: %s\nstderr: %s", args, err, stdout, stderr)
	}
	var r loadResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil {
		t.Fatalf("ntpload %v output %q: %v", args, stdout, err)
	}
	return r
}

// waitSync waits (polling once a second) for the server at target to answer
// synchronised at stratum 1.
func waitSync(t *testing.T, ns *netns, target string, timeout time.Duration) {
	t.Helper()
	bin := build(t, "cmd/ntpload")
	stdout, stderr, err := ns.run(t, timeout+10*time.Second, bin, "-target", target, "-wait-sync", timeout.String())
	if err != nil {
		t.Fatalf("server at %s not synchronised within %s: %v\n%s%s", target, timeout, err, stdout, stderr)
	}
	if !strings.Contains(stdout, "stratum 1 ") {
		t.Fatalf("server at %s synchronised at a stratum other than 1: %s", target, stdout)
	}
}

func near(x, want, tol float64) bool { return math.Abs(x-want) <= tol }
