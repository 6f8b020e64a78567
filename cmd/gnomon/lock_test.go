package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClockLock: a second instance cannot take the clock while the first
// holds it, and the error names the first's PID; once the first lets go (as
// on exit, kill -9 included) a new instance takes it, stale PID and all.
func TestClockLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), clockLockName)
	first, err := lockClock(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("lock file holds %q, want the PID %d", b, os.Getpid())
	}
	_, err = lockClock(path)
	if !errors.Is(err, errClockHeld) || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want errClockHeld naming PID %d", err, os.Getpid())
	}
	first.Close()
	second, err := lockClock(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	second.Close()
	// A symbolic link planted in its place is not followed.
	link := filepath.Join(t.TempDir(), clockLockName)
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if f, err := lockClock(link); err == nil {
		f.Close()
		t.Error("lock through a symbolic link taken")
	}
}
