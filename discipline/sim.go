package discipline

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// SimClockConfig describes a simulated oscillator (BENCHMARKS.md section 1).
type SimClockConfig struct {
	// InitialOffset is local - true at creation (positive: the clock is ahead).
	InitialOffset time.Duration
	// FreqPPM is the oscillator's frequency error at creation, in parts per
	// million (positive: the clock gains).
	FreqPPM float64
	// Wander is W, the random-walk step of the frequency error drawn once per
	// true second (fractional; 1e-9 calm, 1e-8 harsh).
	Wander float64
	// Seed seeds the random walk.
	Seed uint64
	// PrecisionLog2 is the precision the clock reports (0 means -20).
	PrecisionLog2 int8
}

// SimClock is a simulated oscillator implementing Clock. Its local time is
// derived from a true time given by trueNow (virtual in the simulator, the
// host's time.Now in the realtime appliance): between changes it runs at rate
// (1+f)(1+corr)-1, f being the oscillator's random-walk frequency error and
// corr the correction set through SetFrequencyPPB. Steps and frequency
// changes take effect at once; an armed leap second is applied when the local
// clock reaches UTC midnight, as the kernel does. Safe for concurrent use.
type SimClock struct {
	mu      sync.Mutex
	cfg     SimClockConfig
	trueNow func() time.Time
	rng     *rand.Rand

	anchor   time.Time // true time the state refers to
	offset   float64   // local - true at anchor, seconds
	freq     float64   // oscillator frequency error f (fractional)
	nextWalk time.Time // true instant of the next random-walk step
	corr     float64   // frequency correction (fractional)

	leap      ntp.Leap // armed leap (ntp.LeapInsert/ntp.LeapDelete) or ntp.LeapNone
	leapDone  bool     // the armed leap was applied (kernel TIME_WAIT)
	leapsDone int
	leapShift float64   // sum of applied leap steps, seconds
	leapAt    time.Time // true instant of the last applied leap
	steps     int
	synced    bool
	estErr    time.Duration
	maxErr    time.Duration
}

// NewSimClock returns a simulated clock started at trueNow().
func NewSimClock(cfg SimClockConfig, trueNow func() time.Time) *SimClock {
	t0 := trueNow().Round(0).UTC()
	c := &SimClock{
		cfg:      cfg,
		trueNow:  trueNow,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x676e6f6d6f6e)),
		anchor:   t0,
		offset:   cfg.InitialOffset.Seconds(),
		freq:     cfg.FreqPPM * 1e-6,
		nextWalk: t0.Truncate(time.Second).Add(time.Second),
	}
	return c
}

// rate is d(local - true)/d(true) with the current state.
func (c *SimClock) rate() float64 { return (1+c.freq)*(1+c.corr) - 1 }

// advance moves the state to true time t (never backwards).
func (c *SimClock) advance(t time.Time) {
	for c.anchor.Before(t) {
		end := t
		if c.nextWalk.Before(end) {
			end = c.nextWalk
		}
		r := c.rate()
		dt := end.Sub(c.anchor).Seconds()
		if c.leap != ntp.LeapNone && !c.leapDone {
			// Local reading at which the kernel applies the leap.
			local0 := c.anchor.Add(durationOf(c.offset))
			mid := local0.Truncate(24 * time.Hour).Add(24 * time.Hour)
			if c.leap == ntp.LeapDelete {
				mid = mid.Add(-time.Second)
			}
			toMid := mid.Sub(local0).Seconds()
			if toMid <= dt*(1+r) {
				tc := toMid / (1 + r)
				c.offset += r * tc
				c.anchor = c.anchor.Add(durationOf(tc))
				step := 1.0
				if c.leap == ntp.LeapInsert {
					step = -1
				}
				c.offset += step
				c.leapShift += step
				c.leapAt = c.anchor
				c.leapDone = true
				c.leapsDone++
				continue
			}
		}
		c.offset += r * dt
		c.anchor = end
		if !c.nextWalk.After(end) {
			c.freq += c.cfg.Wander * c.rng.NormFloat64()
			c.nextWalk = c.nextWalk.Add(time.Second)
		}
	}
}

// offsetAt returns local - true at true time t, advancing the state when t
// is ahead of it and extrapolating back otherwise.
func (c *SimClock) offsetAt(t time.Time) float64 {
	if t.After(c.anchor) {
		c.advance(t)
		return c.offset
	}
	return c.offset - c.rate()*c.anchor.Sub(t).Seconds()
}

// durationOf converts seconds to a Duration, rounding to the nanosecond.
func durationOf(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// Now reads the clock at trueNow().
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.trueNow().Round(0).UTC()
	return t.Add(durationOf(c.offsetAt(t)))
}

// At returns the local clock reading at the true instant trueT (used to
// stamp simulated pulses and to map timestamps between the timescales).
func (c *SimClock) At(trueT time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := trueT.Round(0).UTC()
	return t.Add(durationOf(c.offsetAt(t)))
}

// TrueOffset returns local - true at the true instant trueT, in seconds,
// without rounding (the simulator's error metric).
func (c *SimClock) TrueOffset(trueT time.Time) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offsetAt(trueT.Round(0).UTC())
}

// OscillatorPPB returns the oscillator's own frequency error f now, in parts
// per billion (what a perfect discipline's correction would cancel).
func (c *SimClock) OscillatorPPB() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.trueNow().Round(0).UTC())
	return c.freq * 1e9
}

// FrequencyPPB returns the correction in force.
func (c *SimClock) FrequencyPPB() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.corr * 1e9, nil
}

// SetFrequencyPPB sets the correction from now on.
func (c *SimClock) SetFrequencyPPB(ppb float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.trueNow().Round(0).UTC())
	c.corr = ppb * 1e-9
	return nil
}

// Step adds d to the clock at once.
func (c *SimClock) Step(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.trueNow().Round(0).UTC())
	c.offset += d.Seconds()
	c.steps++
	return nil
}

// SetSync records the synchronisation status (as the kernel would).
func (c *SimClock) SetSync(synced bool, estErr, maxErr time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.synced, c.estErr, c.maxErr = synced, estErr, maxErr
	return nil
}

// SetLeap arms or clears the leap second at the end of the current UTC day.
// Like the kernel's STA_INS/STA_DEL, an applied leap is not applied again
// until the flag is cleared.
func (c *SimClock) SetLeap(l ntp.Leap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.trueNow().Round(0).UTC())
	if l != ntp.LeapInsert && l != ntp.LeapDelete {
		l = ntp.LeapNone
	}
	if l != c.leap {
		c.leapDone = false
	}
	c.leap = l
	return nil
}

// PrecisionLog2 reports the configured precision.
func (c *SimClock) PrecisionLog2() int8 {
	if c.cfg.PrecisionLog2 != 0 {
		return c.cfg.PrecisionLog2
	}
	return -20
}

// SimStatus is what the simulated kernel holds, for tests and the simulator.
type SimStatus struct {
	// Synced, EstErr and MaxErr are the last SetSync arguments.
	Synced         bool
	EstErr, MaxErr time.Duration
	// Leap is the armed leap flag.
	Leap ntp.Leap
	// LeapsApplied counts leap seconds applied at midnight.
	LeapsApplied int
	// LeapShift is the sum of the leap steps applied (-1 s per insertion).
	LeapShift time.Duration
	// LastLeap is the true instant the last leap was applied.
	LastLeap time.Time
	// Steps counts Step calls.
	Steps int
	// FreqPPB is the correction in force.
	FreqPPB float64
}

// Status returns the simulated kernel status.
func (c *SimClock) Status() SimStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return SimStatus{Synced: c.synced, EstErr: c.estErr, MaxErr: c.maxErr, Leap: c.leap,
		LeapsApplied: c.leapsDone, LeapShift: durationOf(c.leapShift), LastLeap: c.leapAt, Steps: c.steps, FreqPPB: c.corr * 1e9}
}

// PrecisionReporter is implemented by clocks that know their reading
// precision (log2 seconds).
type PrecisionReporter interface {
	PrecisionLog2() int8
}

// ShiftOscillatorPPB changes the oscillator's own frequency error by ppb from
// now on (a fault: temperature shock, BENCHMARKS.md S7).
func (c *SimClock) ShiftOscillatorPPB(ppb float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.trueNow().Round(0).UTC())
	c.freq += ppb * 1e-9
}
