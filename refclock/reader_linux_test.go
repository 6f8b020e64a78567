//go:build linux

package refclock

import (
	"context"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/pty/ptytest"
	"golang.org/x/sys/unix"
)

// openPTY returns a raw-mode pseudo-terminal's master and its slave's path.
func openPTY(t *testing.T) (*os.File, string) {
	p := ptytest.Open(t)
	return p.Master, p.Path
}

// TestReopenReaderPTY reads NMEA from a real tty whose other end goes away
// mid-stream (as a USB serial adapter does) and comes back as a new device.
func TestReopenReaderPTY(t *testing.T) {
	m1, p1 := openPTY(t)
	var path atomic.Value
	path.Store(p1)
	open := func() (io.ReadCloser, error) {
		return os.OpenFile(path.Load().(string), os.O_RDONLY|unix.O_NOCTTY, 0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewReopenReader(ctx, open, ReopenConfig{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}, nil)
	defer r.Close()

	// Open the slave before writing: a tty keeps input only once opened.
	first := make(chan string, 1)
	go func() {
		buf := make([]byte, 256)
		n, err := r.Read(buf)
		if err != nil {
			first <- "error: " + err.Error()
			return
		}
		first <- string(buf[:n])
	}()
	waitFor(t, "slave opened", func() bool { return r.Stats().Opens == 1 })
	if _, err := m1.WriteString(ubxRMC + "\n"); err != nil {
		t.Fatal(err)
	}
	if got := <-first; !strings.Contains(got, "GNRMC") {
		t.Fatalf("first read %q", got)
	}

	// The device vanishes: the slave's read fails (EIO), the reader closes
	// it and reopens; the path already names a fresh pty.
	m2, p2 := openPTY(t)
	defer m2.Close()
	path.Store(p2)
	m1.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 256)
		n, err := r.Read(buf)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(buf[:n])
	}()
	waitFor(t, "pty reopened", func() bool { return r.Stats().Opens == 2 })
	if _, err := m2.WriteString(ubxGGA + "\n"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; !strings.Contains(s, "GNGGA") {
		t.Fatalf("read after reopen %q", s)
	}
	if st := r.Stats(); st.ReadErrors != 1 {
		t.Errorf("%+v", st)
	}
	// Cancel unblocks a Read waiting on the tty.
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 8))
		done <- err
	}()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Read after cancel = %v", err)
	}
}
