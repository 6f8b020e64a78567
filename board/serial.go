package board

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// serialReadTimeout is the UART's VTIME: how long one read waits for a
// byte before returning empty, which is how Close reaches a blocked Read.
const serialReadTimeout = 200 * time.Millisecond

// OpenSerial opens a UART (8N1, raw) at baud for reading NMEA, discarding
// input buffered before the open. Read blocks
// until at least one byte arrives; Close from another goroutine makes a
// blocked Read return an error wrapping os.ErrClosed within 200 ms. Device
// faults (e.g. a USB adapter unplugged) come back from Read as errors.
func OpenSerial(path string, baud int) (io.ReadCloser, error) {
	if !slices.Contains(bauds, baud) {
		return nil, fmt.Errorf("board: open serial %s: baud %d is not a standard GPS rate", path, baud)
	}
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: serialReadTimeout})
	if err != nil {
		return nil, fmt.Errorf("board: open serial %s at %d baud: %w", path, baud, err)
	}
	// Drop what the UART buffered before we opened it: a sentence read now
	// would get a receive time seconds after its pulse.
	if err := p.Flush(); err != nil {
		p.Close()
		return nil, fmt.Errorf("board: flush serial %s (TCFLSH): %w", path, err)
	}
	return &serialPort{p: p, path: path, timeout: serialReadTimeout}, nil
}

// serialPort hides tarm/serial's read timeouts (reported as io.EOF) from
// the reader.
type serialPort struct {
	p       *serial.Port
	path    string
	timeout time.Duration
	closed  atomic.Bool
}

// maxQuickEmpty bounds empty reads that return at once: a tty that hung up
// returns empty reads forever, which would spin.
const maxQuickEmpty = 10

// Read implements io.Reader.
func (s *serialPort) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	quick := 0
	for {
		if s.closed.Load() {
			return 0, fmt.Errorf("board: read serial %s: %w", s.path, os.ErrClosed)
		}
		start := time.Now()
		n, err := s.p.Read(b)
		if n > 0 {
			return n, nil
		}
		switch {
		case err == nil || errors.Is(err, io.EOF):
			// VTIME expired with no byte: the port is quiet, not ended,
			// unless empty reads come back far faster than VTIME.
			if time.Since(start) < s.timeout/4 {
				if quick++; quick >= maxQuickEmpty {
					return 0, fmt.Errorf("board: read serial %s: line hung up: %w", s.path, io.EOF)
				}
			} else {
				quick = 0
			}
		case s.closed.Load() || errors.Is(err, os.ErrClosed):
			return 0, fmt.Errorf("board: read serial %s: %w", s.path, os.ErrClosed)
		default:
			return 0, fmt.Errorf("board: read serial %s: %w", s.path, err)
		}
	}
}

// Close implements io.Closer.
func (s *serialPort) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.p.Close(); err != nil {
		return fmt.Errorf("board: close serial %s: %w", s.path, err)
	}
	return nil
}
