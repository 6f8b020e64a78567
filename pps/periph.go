package pps

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// periphWait bounds one WaitForEdge, so Next notices a cancelled ctx or
// Close within it.
const periphWait = 100 * time.Millisecond

// periphSource is the last-resort Source: periph's WaitForEdge reports that
// an edge happened but not when, so the edge is stamped in user space after
// the goroutine wakes, with the scheduling latency in the stamp.
type periphSource struct {
	pin    gpio.PinIn
	now    func() time.Time
	wait   time.Duration
	seq    uint64
	closed atomic.Bool
}

// NewPeriph configures pin as an input (pull resistor left as it is)
// interrupting on pol edges and returns a Source that stamps each edge with
// now (time.Now if nil) as soon as WaitForEdge returns. Its Precision is
// PeriphPrecision; prefer OpenKernel or OpenGPIOLine where they work.
func NewPeriph(pin gpio.PinIn, pol Polarity, now func() time.Time) (Source, error) {
	if pin == nil {
		return nil, fmt.Errorf("pps: periph source needs a pin")
	}
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	edge := gpio.RisingEdge
	if pol == Falling {
		edge = gpio.FallingEdge
	}
	if err := pin.In(gpio.PullNoChange, edge); err != nil {
		return nil, fmt.Errorf("pps: set %s as input on %s edges: %w", pin, pol, err)
	}
	if now == nil {
		now = time.Now
	}
	return &periphSource{pin: pin, now: now, wait: periphWait}, nil
}

// Next implements Source. Edge.Seq counts the edges this source saw; edges
// the driver coalesced or missed leave no gap.
func (s *periphSource) Next(ctx context.Context) (Edge, error) {
	for {
		if s.closed.Load() {
			return Edge{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Edge{}, err
		}
		if s.pin.WaitForEdge(s.wait) {
			t := s.now() // first thing after waking: every instruction here is error
			if s.closed.Load() {
				return Edge{}, ErrClosed
			}
			s.seq++
			return Edge{Time: t, Seq: s.seq, Assert: true}, nil
		}
	}
}

// Precision implements Source.
func (s *periphSource) Precision() time.Duration { return PeriphPrecision }

// Close implements Source: it stops edge detection on the pin. A pending
// Next returns ErrClosed within its wait (100 ms).
func (s *periphSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.pin.In(gpio.PullNoChange, gpio.NoEdge); err != nil {
		return fmt.Errorf("pps: stop edge detection on %s: %w", s.pin, err)
	}
	return nil
}
