package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's utime and stime: 100
// on every Linux architecture gnomon runs on.
const clockTick = 100

// ProcSample is a process's CPU time and resident memory at one instant.
type ProcSample struct {
	At     time.Time
	CPU    time.Duration // user + system time of all its threads
	RSSKiB uint64        // VmRSS
}

// ReadProc samples /proc/PID/stat and /proc/PID/status.
func ReadProc(pid int) (ProcSample, error) {
	at := time.Now()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: read process stat: %w", err)
	}
	ticks, err := parseStatCPU(string(stat))
	if err != nil {
		return ProcSample{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: read process status: %w", err)
	}
	rss, err := parseStatusRSS(string(status))
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{At: at, CPU: time.Duration(ticks) * time.Second / clockTick, RSSKiB: rss}, nil
}

// CPUShare returns the share of one core the process used between a and b
// (1.0 = a whole core).
func CPUShare(a, b ProcSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return float64(b.CPU-a.CPU) / float64(wall)
}

// parseStatCPU returns utime + stime (fields 14 and 15 of proc(5)) in ticks.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: parse process stat: no ')' in %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: parse process stat: %d fields after the name", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("loadgen: parse process stat utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("loadgen: parse process stat stime: %w", err)
	}
	return u + st, nil
}

// parseStatusRSS returns VmRSS in KiB from /proc/PID/status.
func parseStatusRSS(s string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("loadgen: parse VmRSS %q", rest)
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: parse VmRSS: %w", err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("loadgen: no VmRSS in process status")
}
