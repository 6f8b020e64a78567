package refclock

import (
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

// DefaultNMEADelayErr is the uncertainty of a configured NMEA delay that
// was not measured: receivers end their first time-bearing sentence from
// a few to several hundred milliseconds after the second, so the default
// delay of 200 ms is good to about as much again.
const DefaultNMEADelayErr = 200 * time.Millisecond

// nmeaSpreadWindow is how many recent sentences the observed spread of the
// NMEA arrival phase is taken over.
const nmeaSpreadWindow = 16

// nmeaBound is the error of NMEA-only (GPS) samples that no pulse can
// show: the delay from the second to the sentence's end is subtracted as
// configured (or as learned from pulses before they stopped), and a
// receiver off that delay puts every sample off by as much, with nothing
// in the samples' scatter to reveal it. The bound, carried as the sample's
// RootDispersion so the served root dispersion includes it, is
//
//   - before a delay was learned from pulses: the larger of the configured
//     delay's uncertainty (Config.NMEADelayErr) and the observed spread;
//   - with a delay learned from pulses (measured, so the configured one no
//     longer matters): the observed spread, at least one millisecond.
//
// The observed spread is the range of Received - UTC (the arrival phase
// against the local clock) over the last nmeaSpreadWindow sentences: the
// receiver's jitter, plus any step of the local clock in that window. It is
// pure and not safe for concurrent use.
type nmeaBound struct {
	cfgErr time.Duration
	phase  [nmeaSpreadWindow]time.Duration
	n, i   int
}

// newNMEABound returns a bound with the configured delay's uncertainty.
func newNMEABound(cfgErr time.Duration) *nmeaBound {
	return &nmeaBound{cfgErr: cfgErr}
}

// observe records one time message's arrival phase.
func (b *nmeaBound) observe(m TimeMsg) {
	b.phase[b.i] = m.Received.Sub(m.UTC)
	b.i = (b.i + 1) % len(b.phase)
	b.n = min(b.n+1, len(b.phase))
}

// spread is the range of the recorded phases (0 with fewer than two).
func (b *nmeaBound) spread() time.Duration {
	if b.n < 2 {
		return 0
	}
	lo, hi := b.phase[0], b.phase[0]
	for _, p := range b.phase[1:b.n] {
		lo, hi = min(lo, p), max(hi, p)
	}
	return hi - lo
}

// bound is the error bound of an NMEA-only sample; learned says the
// delay subtracted was learned from pulses.
func (b *nmeaBound) bound(learned bool) time.Duration {
	if learned {
		return max(b.spread(), time.Millisecond)
	}
	return max(b.cfgErr, b.spread())
}

// apply raises a GPS sample's RootDispersion to the bound; other samples
// are left alone.
func (b *nmeaBound) apply(s *source.Sample, learned bool) {
	if s.Kind != source.KindGPS {
		return
	}
	s.RootDispersion = max(s.RootDispersion, b.bound(learned))
}
