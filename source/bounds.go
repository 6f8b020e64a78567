package source

import (
	"fmt"
	"time"
)

// GPSEra is 1024 weeks, the span after which a GPS receiver's 10-bit week
// number rolls over: a receiver whose firmware pivots its week count wrongly
// is off by a multiple of it.
const GPSEra = 1024 * 7 * 24 * time.Hour

// DefaultPlausibleSpan is how far past the lower bound a reference time is
// still plausible: half a GPS era (about 9.8 years). A receiver is believed
// only inside one era from what is known to have passed, and the margin of
// half an era refuses dates decades ahead (a receiver claiming 2038 or 2080
// to a 2026 build) while a running appliance, whose saved timestamps move
// the lower bound forward, never reaches the upper one.
const DefaultPlausibleSpan = GPSEra / 2

// TimeBounds are the earliest and latest times a reference may name. The
// zero value bounds nothing.
type TimeBounds struct {
	// Lower is a time known to have passed: the build date, or a saved
	// timestamp such as the drift file's, whichever is later.
	Lower time.Time
	// Upper is the latest plausible time.
	Upper time.Time
}

// NewTimeBounds returns the bounds from the latest of lowers (zero times
// are ignored) to that plus span (DefaultPlausibleSpan when span <= 0; at
// most GPSEra).
func NewTimeBounds(span time.Duration, lowers ...time.Time) TimeBounds {
	if span <= 0 {
		span = DefaultPlausibleSpan
	}
	span = min(span, GPSEra)
	var lo time.Time
	for _, t := range lowers {
		if t.After(lo) {
			lo = t
		}
	}
	if lo.IsZero() {
		return TimeBounds{}
	}
	return TimeBounds{Lower: lo.UTC(), Upper: lo.UTC().Add(span)}
}

// ImplausibleError is a reference time outside the bounds.
type ImplausibleError struct {
	// Time is the time the reference named.
	Time time.Time
	// Bounds are the bounds it fell outside.
	Bounds TimeBounds
}

func (e *ImplausibleError) Error() string {
	return fmt.Sprintf("reference time %s is outside the plausible range %s .. %s",
		e.Time.UTC().Format(time.RFC3339), e.Bounds.Lower.Format(time.DateOnly), e.Bounds.Upper.Format(time.DateOnly))
}

// Check returns an *ImplausibleError when t is outside b (never for the
// zero TimeBounds).
func (b TimeBounds) Check(t time.Time) error {
	if b.Lower.IsZero() {
		return nil
	}
	if t.Before(b.Lower) || t.After(b.Upper) {
		return &ImplausibleError{Time: t, Bounds: b}
	}
	return nil
}
