//go:build linux

package board

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
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

func TestOpenSerialReadsPTY(t *testing.T) {
	m, slave := openPTY(t)
	port, err := OpenSerial(slave, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	// Raw mode: CR, LF and the checksum star arrive untouched.
	const nmea = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n$GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4C\r\n"
	if _, err := m.Write([]byte(nmea)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(nmea))
	if _, err := io.ReadFull(port, got); err != nil {
		t.Fatalf("read %q so far: %v", got, err)
	}
	if string(got) != nmea {
		t.Errorf("read %q, want %q", got, nmea)
	}
}

// Bytes the UART received before OpenSerial are stale and dropped.
func TestOpenSerialFlushesStaleInput(t *testing.T) {
	m, slave := openPTY(t)
	// Hold the slave open so the stale line has a queue to wait in, and
	// wait until it is there (pty writes reach the slave asynchronously).
	s, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := m.Write([]byte("$GPRMC,stale\n")); err != nil {
		t.Fatal(err)
	}
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		var ierr error
		rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
		if ierr != nil {
			t.Fatalf("TIOCINQ: %v", ierr)
		}
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	port, err := OpenSerial(slave, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := m.Write([]byte("fresh")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(port, got); err != nil || string(got) != "fresh" {
		t.Errorf("read %q, %v; want \"fresh\" with the stale line dropped", got, err)
	}
}

func TestOpenSerialCloseUnblocksRead(t *testing.T) {
	_, slave := openPTY(t)
	port, err := OpenSerial(slave, 115200)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := port.Read(make([]byte, 64)) // nothing is ever written
		done <- err
	}()
	if err := port.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read across Close = %v, want os.ErrClosed", err)
	}
	if err := port.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOpenSerialHangupEndsRead(t *testing.T) {
	m, slave := openPTY(t)
	port, err := OpenSerial(slave, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	// The far end goes away: the slave's reads return empty at once,
	// forever. Read must end with io.EOF rather than spin.
	m.Close()
	_, err = port.Read(make([]byte, 64))
	if !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), slave) {
		t.Errorf("Read after hangup = %v, want io.EOF naming %s", err, slave)
	}
}

func TestOpenSerialErrors(t *testing.T) {
	if _, err := OpenSerial("/nonexistent/ttyAMA0", 9600); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/ttyAMA0") {
		t.Errorf("missing device: %v", err)
	}
	if _, err := OpenSerial("/dev/null", 9601); err == nil || !strings.Contains(err.Error(), "9601") {
		t.Errorf("odd baud: %v", err)
	}
	// /dev/null is no tty: setting its line discipline fails.
	if _, err := OpenSerial("/dev/null", 9600); err == nil || !strings.Contains(err.Error(), "/dev/null") {
		t.Errorf("not a tty: %v", err)
	}
}
