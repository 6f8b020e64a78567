package pps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDecodeLineEvent(t *testing.T) {
	good := LineEvent{TimestampNs: 1764064800123456789, ID: LineEventRising, Offset: 18, Seqno: 7, LineSeqno: 5}
	rec := appendLineEvent(nil, good)
	if len(rec) != lineEventSize {
		t.Fatalf("encoded %d bytes", len(rec))
	}
	ev, err := DecodeLineEvent(rec)
	if err != nil || ev != good {
		t.Fatalf("DecodeLineEvent = %+v, %v; want %+v", ev, err, good)
	}
	bad := func(mut func([]byte) []byte) []byte { return mut(bytes.Clone(rec)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", rec[:47], "47 bytes"},
		{"long", append(bytes.Clone(rec), 0), "49 bytes"},
		{"id", bad(func(b []byte) []byte { b[8] = 3; return b }), "id 3"},
		{"zero time", appendLineEvent(nil, LineEvent{ID: 1}), "timestamp 0"},
		{"time overflow", bad(func(b []byte) []byte { b[7] = 0x80; return b }), "out of range"},
		{"padding", bad(func(b []byte) []byte { b[40] = 1; return b }), "padding byte 40"},
	}
	for _, tc := range tests {
		if _, err := DecodeLineEvent(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func FuzzDecodeLineEvent(f *testing.F) {
	f.Add(appendLineEvent(nil, LineEvent{TimestampNs: 1, ID: 1, LineSeqno: 1}))
	f.Add(appendLineEvent(nil, LineEvent{TimestampNs: 1<<63 - 1, ID: 2, Offset: 1<<32 - 1, Seqno: 9, LineSeqno: 1<<32 - 1}))
	f.Add(make([]byte, 48))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeLineEvent(b)
		if err != nil {
			return
		}
		// Whatever decodes must be a record the kernel could have written,
		// and encode back to the same bytes.
		if len(b) != lineEventSize || (ev.ID != 1 && ev.ID != 2) || ev.TimestampNs == 0 || ev.TimestampNs > 1<<63-1 {
			t.Fatalf("accepted bad record %x as %+v", b, ev)
		}
		if re := appendLineEvent(nil, ev); !bytes.Equal(re, b) {
			t.Fatalf("round trip %x -> %+v -> %x", b, ev, re)
		}
	})
}

// pipeLine returns a lineSource reading the pipe's read end and the write end.
func pipeLine(t *testing.T, pol Polarity) (*lineSource, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := newLineSource(r, "pipe", pol)
	t.Cleanup(func() { s.Close(); w.Close() })
	return s, w
}

func TestLineSourceReadsRecords(t *testing.T) {
	s, w := pipeLine(t, Rising)
	base := int64(1764064800) * 1e9
	var stream []byte
	stream = appendLineEvent(stream, LineEvent{TimestampNs: uint64(base + 17), ID: LineEventRising, Offset: 18, Seqno: 1, LineSeqno: 1})
	stream = append(stream, bytes.Repeat([]byte{0xff}, lineEventSize)...) // garbage record: dropped
	stream = appendLineEvent(stream, LineEvent{TimestampNs: uint64(base + 5e8), ID: LineEventFalling, Offset: 18, Seqno: 2, LineSeqno: 2})
	stream = appendLineEvent(stream, LineEvent{TimestampNs: uint64(base + 1e9 + 3), ID: LineEventRising, Offset: 18, Seqno: 3, LineSeqno: 3})
	stream = appendLineEvent(stream, LineEvent{TimestampNs: uint64(base + 3e9 + 9), ID: LineEventRising, Offset: 18, Seqno: 5, LineSeqno: 5})
	// Dribble the stream in uneven pieces: records split across reads
	// must still come out whole.
	go func() {
		for len(stream) > 0 {
			n := min(len(stream), 29)
			if _, err := w.Write(stream[:n]); err != nil {
				return
			}
			stream = stream[n:]
		}
	}()
	want := []Edge{
		{Time: time.Unix(0, base+17), Seq: 1, Assert: true},
		{Time: time.Unix(0, base+1e9+3), Seq: 3, Assert: true},
		{Time: time.Unix(0, base+3e9+9), Seq: 5, Assert: true}, // gap: a missed pulse shows
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, we := range want {
		e, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("edge %d: %v", i, err)
		}
		if !e.Time.Equal(we.Time) || e.Seq != we.Seq || !e.Assert {
			t.Errorf("edge %d = %+v, want %+v", i, e, we)
		}
	}
	if s.dropped != 2 {
		t.Errorf("dropped %d records, want 2 (garbage, falling edge)", s.dropped)
	}
	if s.Precision() != GPIOChipPrecision {
		t.Errorf("Precision = %v", s.Precision())
	}
	w.Close()
	if _, err := s.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Next after writer closed = %v, want io.EOF", err)
	}
}

func TestLineSourceFalling(t *testing.T) {
	s, w := pipeLine(t, Falling)
	rec := appendLineEvent(nil, LineEvent{TimestampNs: 42, ID: LineEventRising, LineSeqno: 1})
	rec = appendLineEvent(rec, LineEvent{TimestampNs: 43, ID: LineEventFalling, LineSeqno: 2})
	if _, err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	e, err := s.Next(context.Background())
	if err != nil || e.Time.UnixNano() != 43 || e.Seq != 2 {
		t.Errorf("Next = %+v, %v; want the falling edge at 43 ns", e, err)
	}
}

func TestLineSourceContextAndClose(t *testing.T) {
	s, _ := pipeLine(t, Rising)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Next(ctx)
		done <- err
	}()
	cancel() // wakes the blocked Read through its deadline
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v, want context.Canceled", err)
	}
	// The source stays usable after a cancelled Next.
	go func() {
		_, err := s.Next(context.Background())
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Next across Close = %v, want ErrClosed", err)
	}
}
