package discipline

import (
	"errors"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/source"
)

// Config tunes the discipline: the servo, the step policy, holdover and the
// published state.
type Config struct {
	// StepThreshold is the |offset| above which the first lock steps the
	// clock instead of slewing it (chrony's makestep, ntpd's 128 ms).
	StepThreshold time.Duration
	// StepAfterLock allows steps after the first lock too (only when the
	// servo re-acquires after ReacquireAfter of rejected samples). Off by
	// default: once locked the clock is only slewed.
	StepAfterLock bool
	// MaxSlewPPM bounds the frequency correction the servo applies, in parts
	// per million (the adjtimex clock reaches beyond ±500 ppm with ADJ_TICK).
	MaxSlewPPM float64
	// MaxPhaseSlewPPM bounds, once the clock has been locked, how fast a
	// phase error is slewed away: the correction stays within this many
	// parts per million of the one that cancels the estimated frequency, so
	// the return from an outage or a lost lock is gentle for clients. An
	// error this slew would take over a minute to remove (a reference that
	// moved, not holdover drift) is first pulled in at MaxSlewPPM to what
	// it removes in a minute; steps are decided by StepThreshold alone.
	MaxPhaseSlewPPM float64
	// PulsePeriod is the interval between reference pulses.
	PulsePeriod time.Duration
	// InitialNoise is the assumed 1-sigma noise of a pulse sample before it
	// is estimated on line (a sample's Err overrides it when larger than 0).
	InitialNoise time.Duration
	// InitialFreqUncertaintyPPM is the 1-sigma uncertainty of the frequency
	// at start without a drift file; with one, DriftUncertaintyPPM is used.
	InitialFreqUncertaintyPPM float64
	// DriftUncertaintyPPM is the 1-sigma uncertainty of a drift file's frequency.
	DriftUncertaintyPPM float64
	// OutlierGate rejects a sample whose innovation exceeds this many
	// predicted standard deviations.
	OutlierGate float64
	// ReacquireAfter is how long samples may be rejected one after another
	// before the servo concludes the reference moved and re-acquires.
	ReacquireAfter time.Duration
	// LockThreshold is the |estimated offset| below which the loop declares
	// lock (after MinLockSamples accepted samples).
	LockThreshold time.Duration
	// MinLockSamples is the number of accepted samples before lock.
	MinLockSamples int
	// UnsyncAfter is how long the loop holds over without an accepted sample
	// before it declares the clock unsynchronised.
	UnsyncAfter time.Duration
	// DispersionRate is the growth of the error bound, in seconds per second
	// (RFC 5905 PHI).
	DispersionRate float64
	// PrecisionLog2 is the clock precision to serve; 0 asks the clock (see
	// PrecisionReporter) and falls back to -20.
	PrecisionLog2 int8
	// MaxStep is the largest correction, step or slew, accepted once the
	// clock has been synchronised: a sample further off is refused and
	// alarmed (a spoofed or broken reference), never stepped in or slewed
	// toward. The first synchronisation may step any distance inside
	// Plausible (a Pi without an RTC boots near 1970 or at a saved time).
	MaxStep time.Duration
	// Plausible bounds the reference time of every sample (its local time
	// plus its offset): a sample naming a time outside is refused before it
	// can step the clock. The zero value bounds nothing (simulations).
	Plausible source.TimeBounds
}

// DefaultMaxStep is the default Config.MaxStep: one day.
const DefaultMaxStep = 24 * time.Hour

// DefaultMaxPhaseSlewPPM is the default Config.MaxPhaseSlewPPM: 250 µs of
// phase (a long outage's drift) takes 12.5 s.
const DefaultMaxPhaseSlewPPM = 20

// DefaultConfig returns the configuration gnomon runs with.
func DefaultConfig() Config {
	return Config{
		StepThreshold:             128 * time.Millisecond,
		MaxSlewPPM:                20000,
		MaxPhaseSlewPPM:           DefaultMaxPhaseSlewPPM,
		PulsePeriod:               time.Second,
		InitialNoise:              time.Microsecond,
		InitialFreqUncertaintyPPM: 100,
		DriftUncertaintyPPM:       1,
		OutlierGate:               5,
		ReacquireAfter:            10 * time.Minute,
		LockThreshold:             100 * time.Microsecond,
		MinLockSamples:            4,
		UnsyncAfter:               2 * time.Hour,
		DispersionRate:            15e-6,
		MaxStep:                   DefaultMaxStep,
	}
}

// FieldError is a wrong value of one Config field: Field names it as Go
// spells it ("StepThreshold"), Err says what is wrong.
type FieldError = fielderr.Error

// fieldErr returns a *FieldError about field.
func fieldErr(field, format string, args ...any) error {
	return fielderr.New("discipline", field, format, args...)
}

// Validate reports every setting that cannot work, a *FieldError for each
// field (joined by errors.Join).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if c.StepThreshold <= 0 {
		bad("StepThreshold", "%v must be positive", c.StepThreshold)
	}
	if !(c.MaxSlewPPM >= 1 && c.MaxSlewPPM <= 100000) {
		bad("MaxSlewPPM", "%v must be within 1..100000", c.MaxSlewPPM)
	}
	if !(c.MaxPhaseSlewPPM >= 1 && c.MaxPhaseSlewPPM <= c.MaxSlewPPM) {
		bad("MaxPhaseSlewPPM", "%v must be within 1..MaxSlewPPM (%v)", c.MaxPhaseSlewPPM, c.MaxSlewPPM)
	}
	if c.PulsePeriod < 100*time.Millisecond || c.PulsePeriod > time.Minute {
		bad("PulsePeriod", "%v must be within 100ms..1m", c.PulsePeriod)
	}
	if c.InitialNoise <= 0 {
		bad("InitialNoise", "%v must be positive", c.InitialNoise)
	}
	if !(c.InitialFreqUncertaintyPPM > 0) {
		bad("InitialFreqUncertaintyPPM", "%v must be positive", c.InitialFreqUncertaintyPPM)
	}
	if !(c.DriftUncertaintyPPM > 0) {
		bad("DriftUncertaintyPPM", "%v must be positive", c.DriftUncertaintyPPM)
	}
	if !(c.OutlierGate >= 2) {
		bad("OutlierGate", "%v must be at least 2", c.OutlierGate)
	}
	if c.ReacquireAfter < 10*c.PulsePeriod {
		bad("ReacquireAfter", "%v must be at least 10 pulse periods", c.ReacquireAfter)
	}
	if c.LockThreshold <= 0 {
		bad("LockThreshold", "%v must be positive", c.LockThreshold)
	}
	if c.MinLockSamples < 1 {
		bad("MinLockSamples", "%d must be at least 1", c.MinLockSamples)
	}
	if c.UnsyncAfter <= 0 {
		bad("UnsyncAfter", "%v must be positive", c.UnsyncAfter)
	}
	if !(c.DispersionRate >= 0 && c.DispersionRate < 1e-3) {
		bad("DispersionRate", "%v must be within 0..1e-3", c.DispersionRate)
	}
	if c.MaxStep < c.StepThreshold {
		bad("MaxStep", "%v must be at least the step threshold %v", c.MaxStep, c.StepThreshold)
	}
	if !c.Plausible.Lower.IsZero() && !c.Plausible.Upper.After(c.Plausible.Lower) {
		bad("Plausible", "upper bound %v not after lower bound %v", c.Plausible.Upper, c.Plausible.Lower)
	}
	if c.PrecisionLog2 > 0 || c.PrecisionLog2 < -32 {
		bad("PrecisionLog2", "%d must be within -32..0", c.PrecisionLog2)
	}
	return errors.Join(errs...)
}
