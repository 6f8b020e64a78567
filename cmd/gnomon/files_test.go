package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUntrustedConfigRefused: a config that is a device, a FIFO or a huge
// file is refused at once with a clear error, never read into memory or
// waited on.
func TestUntrustedConfigRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.toml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 << 30); err != nil { // sparse: 8 GiB of zeros
		t.Fatal(err)
	}
	f.Close()
	zeroLink := filepath.Join(dir, "zero.toml")
	if err := os.Symlink("/dev/zero", zeroLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "not a regular file (a character device)"},
		{zeroLink, "not a regular file (a character device)"},
		{fifo, "not a regular file (a FIFO)"},
		{huge, "file too large"},
	} {
		start := time.Now()
		code, out := runGnomon(t, "run", "--config", tc.path)
		if code != 1 || !strings.Contains(out, tc.want) || !strings.Contains(out, tc.path) {
			t.Errorf("--config %s: exit %d, output:\n%s\nwant exit 1 and %q", tc.path, code, out, tc.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("--config %s took %v", tc.path, d)
		}
	}
}

// TestDriftFIFONoHang: a drift file that is a FIFO is refused (the daemon
// starts from 0 ppm and serves), SIGTERM still stops it within seconds, and
// the stale temp files a killed write left are removed at start.
func TestDriftFIFONoHang(t *testing.T) {
	dir := t.TempDir()
	drift := filepath.Join(dir, "drift")
	if err := syscall.Mkfifo(drift, 0o600); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".drift.tmp4242")
	if err := os.WriteFile(stale, []byte("-1234.000 2026-01-01T00:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startSim(t, "--drift-file", drift)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Log(), "no usable drift file") {
		if time.Now().After(deadline) {
			t.Fatalf("FIFO drift file not refused\n%s", p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(p.Log(), "not a regular file (a FIFO)") {
		t.Errorf("refusal does not say why\n%s", p.Log())
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file %s still there: %v", stale, err)
	}
	start := time.Now()
	p.stop(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %v", d)
	}
}
