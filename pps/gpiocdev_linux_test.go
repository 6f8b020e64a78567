//go:build linux

package pps

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestLineRequestEncoding checks the bytes the kernel will read for
// GPIO_V2_GET_LINE_IOCTL, at the offsets linux/gpio.h gives them.
func TestLineRequestEncoding(t *testing.T) {
	for _, tc := range []struct {
		pol   Polarity
		flags uint64
	}{
		{Rising, 1<<2 | 1<<4 | 1<<11},  // INPUT | EDGE_RISING | EVENT_CLOCK_REALTIME
		{Falling, 1<<2 | 1<<5 | 1<<11}, // INPUT | EDGE_FALLING | EVENT_CLOCK_REALTIME
	} {
		req := lineRequest(18, tc.pol)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req))
		ne := binary.NativeEndian
		if got := ne.Uint32(b[0:]); got != 18 {
			t.Errorf("%v: offsets[0] = %d, want 18", tc.pol, got)
		}
		if got := string(b[256 : 256+len(gpioConsumer)+1]); got != gpioConsumer+"\x00" {
			t.Errorf("%v: consumer %q", tc.pol, got)
		}
		if got := ne.Uint64(b[288:]); got != tc.flags {
			t.Errorf("%v: config.flags = %#x, want %#x", tc.pol, got, tc.flags)
		}
		if got := ne.Uint32(b[296:]); got != 0 {
			t.Errorf("%v: config.num_attrs = %d, want 0", tc.pol, got)
		}
		if got := ne.Uint32(b[560:]); got != 1 {
			t.Errorf("%v: num_lines = %d, want 1", tc.pol, got)
		}
		for i, v := range b {
			inOffset0 := i < 4
			inConsumer := i >= 256 && i < 256+len(gpioConsumer)
			inFlags := i >= 288 && i < 296
			inNumLines := i >= 560 && i < 564
			if v != 0 && !inOffset0 && !inConsumer && !inFlags && !inNumLines {
				t.Errorf("%v: unexpected non-zero byte %#x at offset %d", tc.pol, v, i)
			}
		}
	}
}

// The decoder agrees with x/sys's struct gpio_v2_line_event.
func TestDecodeMatchesUnixStruct(t *testing.T) {
	ev := unix.GPIOV2LineEvent{Timestamp_ns: 1764064800000000123, Id: 2, Offset: 4, Seqno: 99, Line_seqno: 7}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&ev)), unsafe.Sizeof(ev))
	got, err := DecodeLineEvent(b)
	want := LineEvent{TimestampNs: 1764064800000000123, ID: 2, Offset: 4, Seqno: 99, LineSeqno: 7}
	if err != nil || got != want {
		t.Errorf("DecodeLineEvent(unix struct) = %+v, %v; want %+v", got, err, want)
	}
}

// OpenGPIOLine on real files fails cleanly and names what failed.
func TestOpenGPIOLineRealFiles(t *testing.T) {
	if _, err := OpenGPIOLine("/nonexistent/gpiochip0", 18, Rising); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing chip: %v, want fs.ErrNotExist", err)
	}
	_, err := OpenGPIOLine("/dev/null", 18, Rising)
	if !errors.Is(err, unix.ENOTTY) || !strings.Contains(err.Error(), "GPIO_V2_GET_LINE_IOCTL line 18 rising edge on /dev/null") {
		t.Errorf("/dev/null: %v, want ENOTTY naming the ioctl, line and chip", err)
	}
	if _, err := OpenGPIOLine("/dev/null", 18, Polarity(9)); err == nil {
		t.Error("bad polarity accepted")
	}
}
