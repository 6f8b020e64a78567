package pps

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// lineEventSize is sizeof(struct gpio_v2_line_event) in linux/gpio.h.
const lineEventSize = 48

// Event ids of struct gpio_v2_line_event (enum gpio_v2_line_event_id).
const (
	LineEventRising  = 1 // GPIO_V2_LINE_EVENT_RISING_EDGE
	LineEventFalling = 2 // GPIO_V2_LINE_EVENT_FALLING_EDGE
)

// LineEvent is one decoded gpio_v2_line_event record from a GPIO
// character device line:
//
//	offset  0  u64 timestamp_ns   (CLOCK_REALTIME when requested so)
//	offset  8  u32 id             1 rising, 2 falling
//	offset 12  u32 offset         line offset on the chip
//	offset 16  u32 seqno          event number across the request's lines
//	offset 20  u32 line_seqno     event number on this line, from 1
//	offset 24  u32 padding[6]     zero
type LineEvent struct {
	// TimestampNs is the kernel's stamp of the edge in nanoseconds.
	TimestampNs uint64
	// ID is LineEventRising or LineEventFalling.
	ID uint32
	// Offset is the line's offset on its chip.
	Offset uint32
	// Seqno counts events across all lines of the request.
	Seqno uint32
	// LineSeqno counts events on this line, from 1.
	LineSeqno uint32
}

// DecodeLineEvent decodes one 48-byte gpio_v2_line_event record in the
// host's byte order. It rejects records of the wrong length, with an unknown
// event id, a zero or out-of-range timestamp, or non-zero padding (the
// kernel zeroes it, so padding bytes mean a misaligned stream).
func DecodeLineEvent(b []byte) (LineEvent, error) {
	if len(b) != lineEventSize {
		return LineEvent{}, fmt.Errorf("pps: gpio line event is %d bytes, want %d", len(b), lineEventSize)
	}
	ne := binary.NativeEndian
	ev := LineEvent{
		TimestampNs: ne.Uint64(b[0:]),
		ID:          ne.Uint32(b[8:]),
		Offset:      ne.Uint32(b[12:]),
		Seqno:       ne.Uint32(b[16:]),
		LineSeqno:   ne.Uint32(b[20:]),
	}
	if ev.ID != LineEventRising && ev.ID != LineEventFalling {
		return LineEvent{}, fmt.Errorf("pps: gpio line event id %d, want 1 (rising) or 2 (falling)", ev.ID)
	}
	if ev.TimestampNs == 0 || ev.TimestampNs > math.MaxInt64 {
		return LineEvent{}, fmt.Errorf("pps: gpio line event timestamp %d ns out of range", ev.TimestampNs)
	}
	for i := 24; i < lineEventSize; i++ {
		if b[i] != 0 {
			return LineEvent{}, fmt.Errorf("pps: gpio line event padding byte %d is %#x, want 0 (misaligned stream?)", i, b[i])
		}
	}
	return ev, nil
}

// appendLineEvent encodes ev as the kernel would; the inverse of
// DecodeLineEvent.
func appendLineEvent(b []byte, ev LineEvent) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint64(b, ev.TimestampNs)
	b = ne.AppendUint32(b, ev.ID)
	b = ne.AppendUint32(b, ev.Offset)
	b = ne.AppendUint32(b, ev.Seqno)
	b = ne.AppendUint32(b, ev.LineSeqno)
	return append(b, make([]byte, 24)...)
}

// aLongTimeAgo is a read deadline in the past: it wakes a blocked Read.
var aLongTimeAgo = time.Unix(1, 0)

// lineSource turns gpio_v2_line_event records read from f (a requested
// line's file descriptor, or a pipe in tests) into Edges. f must support
// read deadlines (a non-blocking descriptor in the runtime poller).
type lineSource struct {
	f    *os.File
	name string
	want uint32 // LineEventRising or LineEventFalling

	buf [16 * lineEventSize]byte
	n   int // bytes buffered in buf

	seq       seqExtender
	dropped   uint64 // records rejected by DecodeLineEvent or of the other edge
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func newLineSource(f *os.File, name string, pol Polarity) *lineSource {
	want := uint32(LineEventRising)
	if pol == Falling {
		want = LineEventFalling
	}
	return &lineSource{f: f, name: name, want: want}
}

// Next implements Source. A bad record is dropped, not fatal: the chardev
// hands out whole records, so the next one is sound.
func (s *lineSource) Next(ctx context.Context) (Edge, error) {
	for {
		if s.closed.Load() {
			return Edge{}, ErrClosed
		}
		for s.n >= lineEventSize {
			ev, err := DecodeLineEvent(s.buf[:lineEventSize])
			s.n = copy(s.buf[:], s.buf[lineEventSize:s.n])
			if err != nil || ev.ID != s.want {
				s.dropped++
				continue
			}
			seq, _ := s.seq.next(ev.LineSeqno)
			return Edge{Time: time.Unix(0, int64(ev.TimestampNs)), Seq: seq, Assert: true}, nil
		}
		if err := ctx.Err(); err != nil {
			return Edge{}, err
		}
		if err := s.read(ctx); err != nil {
			return Edge{}, err
		}
	}
}

// read fills buf with at least one byte, until ctx ends or the file fails.
func (s *lineSource) read(ctx context.Context) error {
	if err := s.f.SetReadDeadline(time.Time{}); err != nil {
		return s.readErr(err)
	}
	// Wake the Read when ctx ends; no goroutine waits meanwhile.
	stop := context.AfterFunc(ctx, func() { s.f.SetReadDeadline(aLongTimeAgo) })
	n, err := s.f.Read(s.buf[s.n:])
	stop()
	s.n += n
	if n > 0 {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return nil // a wake-up left over from an earlier ctx: read again
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return s.readErr(err)
}

func (s *lineSource) readErr(err error) error {
	// After Close the file reports os.ErrClosed, or (from SetReadDeadline)
	// the poller's own "use of closed file", which os.ErrClosed does not match.
	if s.closed.Load() || errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("pps: read gpio line events from %s: %w", s.name, err)
}

// Precision implements Source.
func (s *lineSource) Precision() time.Duration { return GPIOChipPrecision }

// Close implements Source; it releases the line and wakes a pending Next,
// which returns ErrClosed.
func (s *lineSource) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if err := s.f.Close(); err != nil {
			s.closeErr = fmt.Errorf("pps: close %s: %w", s.name, err)
		}
	})
	return s.closeErr
}
