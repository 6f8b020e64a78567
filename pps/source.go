package pps

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("pps: source closed")

// Typical (1 sigma) timestamp errors of the sources, as their Precision
// methods report them.
const (
	// KernelPrecision: pps-gpio stamps the edge in the interrupt handler.
	KernelPrecision = time.Microsecond
	// GPIOChipPrecision: the GPIO character device stamps in its hard IRQ
	// handler too, with a little more path in front of the stamp.
	GPIOChipPrecision = 3 * time.Microsecond
	// PeriphPrecision: a user-space goroutine reads the clock after it
	// wakes up, so scheduling latency lands in the stamp (tails reach ms).
	PeriphPrecision = 50 * time.Microsecond
)

// Polarity says which electrical edge of the pulse marks the start of the
// second.
type Polarity uint8

// Polarities. Nearly every GPS module's PPS rises on the second.
const (
	// Rising: the low-to-high transition is on time.
	Rising Polarity = iota
	// Falling: the high-to-low transition is on time.
	Falling
)

// String returns "rising" or "falling".
func (p Polarity) String() string {
	switch p {
	case Rising:
		return "rising"
	case Falling:
		return "falling"
	}
	return fmt.Sprintf("Polarity(%d)", uint8(p))
}

// Validate reports an unknown polarity.
func (p Polarity) Validate() error {
	if p != Rising && p != Falling {
		return fmt.Errorf("pps: unknown polarity %d (want rising or falling)", uint8(p))
	}
	return nil
}

// ParsePolarity reads "rising" or "falling".
func ParsePolarity(s string) (Polarity, error) {
	switch s {
	case "rising":
		return Rising, nil
	case "falling":
		return Falling, nil
	}
	return 0, fmt.Errorf("pps: unknown polarity %q (want rising or falling)", s)
}

// seqExtender widens a kernel's wrapping 32-bit event counter into the
// uint64 Edge.Seq and tells repeats from new events.
type seqExtender struct {
	started bool
	last    uint32
	total   uint64
}

// next returns the widened sequence number of raw and whether raw differs
// from the previous value (a repeat is the same event read twice).
func (s *seqExtender) next(raw uint32) (uint64, bool) {
	if !s.started {
		s.started, s.last, s.total = true, raw, uint64(raw)
		return s.total, true
	}
	if raw == s.last {
		return s.total, false
	}
	s.total += uint64(raw - s.last) // modular difference survives the wrap
	s.last = raw
	return s.total, true
}
