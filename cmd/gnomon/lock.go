package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// clockLockName is the lock file's name in its directory.
const clockLockName = "gnomon.lock"

// clockLockPath chooses where the one-instance-per-clock lock lives:
// /run/gnomon (systemd's RuntimeDirectory=gnomon) if it exists, else /run
// as root, else the state directory (the drift file's), else none ("").
func clockLockPath(driftPath string) string {
	if fi, err := os.Stat("/run/gnomon"); err == nil && fi.IsDir() {
		return filepath.Join("/run/gnomon", clockLockName)
	}
	if os.Geteuid() == 0 {
		return filepath.Join("/run", clockLockName)
	}
	if driftPath != "" {
		return filepath.Join(filepath.Dir(driftPath), clockLockName)
	}
	return ""
}

// errClockHeld is returned (wrapped) when another instance holds the lock.
var errClockHeld = errors.New("another gnomon holds the clock")

// lockClock takes the exclusive lock at path and writes this process's PID
// into it; the lock lasts as long as the returned file stays open (the
// process's lifetime: the kernel releases it on exit, even after kill -9,
// so a stale file never blocks a start). When another process holds it,
// the error names that process's PID.
func lockClock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return nil, fmt.Errorf("clock lock: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("clock lock %s: not a regular file", path)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 32))
			who := "a process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				who = "PID " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w: %s holds %s; stop it first", errClockHeld, who, path)
		}
		return nil, fmt.Errorf("clock lock %s: %w", path, err)
	}
	werr := f.Truncate(0)
	if werr == nil {
		_, werr = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err := werr; err != nil {
		f.Close()
		return nil, fmt.Errorf("clock lock %s: %w", path, err)
	}
	return f, nil
}
