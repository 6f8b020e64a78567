package simhat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/pty"
	"github.com/gnomon-ntp/gnomon/pps"
)

// Clock is the simulated local clock as the hat sees it: the reading it shows
// at a true instant. discipline's simulated clock implements it.
type Clock interface {
	At(trueT time.Time) time.Time
}

// Config tunes the simulated receiver. The zero value of a field means its
// default (see DefaultConfig).
type Config struct {
	// PPSJitter is the 1-sigma error of each edge's timestamp (kernel PPS on
	// a Pi: about 1 µs).
	PPSJitter time.Duration
	// NMEADelay is the mean delay from the pulse to the NMEA burst naming it.
	NMEADelay time.Duration
	// NMEAJitter is the 1-sigma wander of that delay.
	NMEAJitter time.Duration
	// Seed seeds the noise, so runs are repeatable.
	Seed uint64
	// TrueNow reads true time; nil means time.Now (the host clock).
	TrueNow func() time.Time
	// TimeError puts the receiver's time off true time by this much from
	// the start (receiver - true): a spoofed receiver, or one naming a
	// wrong date. Its pulses mark its own whole seconds and its sentences
	// name them.
	TimeError time.Duration
	// ErrorAfter delays TimeError: the receiver keeps true time for that
	// long after Run starts, then starts lying (0: from the start).
	ErrorAfter time.Duration
	// NoNMEA makes a bare PPS wire: pulses only, no sentences.
	NoNMEA bool
	// OutageAfter loses the antenna that long after Run starts (0: never):
	// no pulses and no sentences for OutageFor (0: for good).
	OutageAfter, OutageFor time.Duration
}

// DefaultConfig returns the reference noise model of BENCHMARKS.md section 1
// with kernel-PPS jitter: 1 µs PPS, NMEA 0.2 s + 5 ms·N(0,1) after the pulse.
func DefaultConfig() Config {
	return Config{
		PPSJitter:  time.Microsecond,
		NMEADelay:  200 * time.Millisecond,
		NMEAJitter: 5 * time.Millisecond,
		Seed:       1,
	}
}

// Validate reports a configuration the hat cannot run.
func (c Config) Validate() error {
	switch {
	case c.PPSJitter < 0:
		return fmt.Errorf("simhat: PPSJitter %v is negative", c.PPSJitter)
	case c.NMEAJitter < 0:
		return fmt.Errorf("simhat: NMEAJitter %v is negative", c.NMEAJitter)
	case c.NMEADelay <= 0 || c.NMEADelay >= 900*time.Millisecond:
		return fmt.Errorf("simhat: NMEADelay %v is outside (0, 900ms)", c.NMEADelay)
	case c.ErrorAfter < 0:
		return fmt.Errorf("simhat: ErrorAfter %v is negative", c.ErrorAfter)
	}
	return nil
}

// Hat is a running simulated GPS hat: a PPS edge channel (for pps.NewSim) and
// a pseudo-terminal whose slave (SerialPath) carries the NMEA.
type Hat struct {
	cfg   Config
	clock Clock
	edges chan pps.Edge
	tty   *pty.Pair

	dropped atomic.Uint64
	closing sync.Once
	running atomic.Bool
}

// New opens the pseudo-terminal and prepares a hat whose edges are stamped by
// clock. Start it with Run; release it with Close.
func New(clock Clock, cfg Config) (*Hat, error) {
	def := DefaultConfig()
	if cfg.PPSJitter == 0 {
		cfg.PPSJitter = def.PPSJitter
	}
	if cfg.NMEADelay == 0 {
		cfg.NMEADelay = def.NMEADelay
	}
	if cfg.NMEAJitter == 0 {
		cfg.NMEAJitter = def.NMEAJitter
	}
	if cfg.TrueNow == nil {
		cfg.TrueNow = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("simhat: nil clock")
	}
	tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("simhat: %w", err)
	}
	return &Hat{
		cfg:   cfg,
		clock: clock,
		edges: make(chan pps.Edge, 16),
		tty:   tty,
	}, nil
}

// SerialPath is the path of the pseudo-terminal's slave, where a serial
// reader finds the NMEA (e.g. /dev/pts/3).
func (h *Hat) SerialPath() string { return h.tty.Path }

// Edges is the channel of PPS edges (one assert edge per true second). It is
// closed when Run returns.
func (h *Hat) Edges() <-chan pps.Edge { return h.edges }

// Dropped counts the edges and NMEA bursts lost because nobody was reading
// (a real receiver's UART and PPS line do not wait either).
func (h *Hat) Dropped() uint64 { return h.dropped.Load() }

// Run emits a pulse at every true integer second and, NMEADelay later, the
// NMEA naming that second, until ctx is done. It returns nil on ctx's end and
// closes the edge channel. Run may be called once.
func (h *Hat) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("simhat: Run called twice")
	}
	defer close(h.edges)
	rng := rand.New(rand.NewPCG(h.cfg.Seed, 0x9e3779b97f4a7c15))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sleepUntil := func(t time.Time) bool {
		timer.Reset(t.Sub(h.cfg.TrueNow()))
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	var seq uint64
	started := h.cfg.TrueNow()
	// timeErr is the receiver's error at true time t: TimeError, from
	// ErrorAfter on.
	timeErr := func(t time.Time) time.Duration {
		if t.Sub(started) < h.cfg.ErrorAfter {
			return 0
		}
		return h.cfg.TimeError
	}
	curErr := timeErr(started)
	// sec runs in the receiver's time; its true instant is sec - curErr.
	toTrue := func(rx time.Time) time.Time { return rx.Add(-curErr) }
	rxNow := func() time.Time { return h.cfg.TrueNow().Add(curErr) }
	sec := rxNow().Truncate(time.Second).Add(time.Second)
	lost := func(t time.Time) bool {
		if h.cfg.OutageAfter <= 0 || t.Sub(started) < h.cfg.OutageAfter {
			return false
		}
		return h.cfg.OutageFor <= 0 || t.Sub(started) < h.cfg.OutageAfter+h.cfg.OutageFor
	}
	for {
		if !sleepUntil(toTrue(sec)) {
			return nil
		}
		if e := timeErr(toTrue(sec)); e != curErr {
			// The lie begins: the receiver's seconds move by it.
			curErr = e
			sec = rxNow().Truncate(time.Second).Add(time.Second)
			continue
		}
		// A stall (suspend, overload) of more than a second skips the
		// pulses missed, as a receiver's would be missed by a busy host.
		if now := rxNow(); now.Sub(sec) > 500*time.Millisecond {
			sec = now.Truncate(time.Second).Add(time.Second)
			continue
		}
		if lost(toTrue(sec)) {
			sec = sec.Add(time.Second)
			continue
		}
		seq++
		jitter := time.Duration(rng.NormFloat64() * float64(h.cfg.PPSJitter))
		e := pps.Edge{Time: h.clock.At(toTrue(sec)).Add(jitter), Seq: seq, Assert: true}
		select {
		case h.edges <- e:
		default:
			h.dropped.Add(1)
		}
		delay := h.cfg.NMEADelay + time.Duration(rng.NormFloat64()*float64(h.cfg.NMEAJitter))
		delay = max(10*time.Millisecond, min(delay, 900*time.Millisecond))
		if !sleepUntil(toTrue(sec.Add(delay))) {
			return nil
		}
		if !h.cfg.NoNMEA {
			h.writeNMEA(sec)
		}
		sec = sec.Add(time.Second)
	}
}

// writeNMEA writes the burst naming sec into the master side. When the
// terminal's buffer is full the burst is dropped, as on a real UART.
func (h *Hat) writeNMEA(sec time.Time) {
	burst := strings.Join(Sentences(sec), "")
	if err := h.tty.Master.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		h.dropped.Add(1)
		return
	}
	if _, err := h.tty.Master.Write([]byte(burst)); err != nil {
		h.dropped.Add(1)
	}
}

// Close releases the pseudo-terminal; readers of SerialPath then see EOF or
// an error. Stop Run (cancel its ctx) first.
func (h *Hat) Close() error {
	var err error
	h.closing.Do(func() {
		err = h.tty.Close()
	})
	return err
}
