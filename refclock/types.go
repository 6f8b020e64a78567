package refclock

import (
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

// TimeMsg is what the receiver said about time in one NMEA sentence.
type TimeMsg struct {
	// UTC is the time of day the sentence names, with its date (from the
	// sentence or the last date seen), as a whole second: for time-bearing
	// sentences after a pulse this is the UTC second that began at that
	// pulse. A time with a fraction (a fix not on the whole second, e.g.
	// 171003.40) gives its whole second here and the rest in Fraction.
	UTC time.Time
	// Received is the local clock reading when the sentence's end was
	// read, less Fraction: the reading at which it would have ended had
	// its fix been on the whole second UTC. So Received - UTC is the
	// sentence's delay whatever its fraction (NMEA-only time uses the
	// fraction), and Received - pulse names the pulse of UTC only when
	// that is unambiguous (a sentence read after the next pulse comes out
	// before it, and is stale).
	Received time.Time
	// Fraction is the sentence's time past the whole second UTC, in
	// [0, 1s); the sentence really ended at Received + Fraction.
	Fraction time.Duration
	// Valid is the receiver's own verdict (RMC status A, GGA quality > 0).
	Valid bool
	// Fix is 0 (none), 2 (2D) or 3 (3D) as last reported by GSA; 0 if unknown.
	Fix int
	// Sats is the number of satellites used, 0 if unknown.
	Sats int
	// HDOP is the horizontal dilution of precision GGA last reported, 0 if
	// unknown.
	HDOP float64
	// InView is the number of satellites in view the last complete GSV
	// cycles reported (summed over constellations), 0 if unknown.
	InView int
	// Sky lists the satellites in view from the last complete GSV cycles
	// (nil if none); never modified once returned.
	Sky []Satellite
	// LeapSecond is true when the sentence named second 60 of a minute (a
	// positive leap second); UTC then holds second 59 of that minute, the
	// POSIX reading of the leap second.
	LeapSecond bool
	// Sentence is the sentence type that carried the time, e.g. "RMC".
	Sentence string
}

// orDefault sets *v to d when *v is its type's zero value: config fields
// left zero take their defaults.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Receiver is what the GPS receiver said in its last time message.
type Receiver struct {
	// Time is the UTC time the message named; Received the local clock
	// reading when it was read.
	Time, Received time.Time
	// Valid is the receiver's own verdict on its fix.
	Valid bool
	// Fix is 0 (none or unknown), 2 (2D) or 3 (3D).
	Fix int
	// Sats is the number of satellites used, 0 if unknown.
	Sats int
	// HDOP is the horizontal dilution of precision, 0 if unknown.
	HDOP float64
	// InView is the number of satellites in view, 0 if unknown.
	InView int
	// Sky lists the satellites in view (from GSV; nil if none).
	Sky []Satellite
	// Sentence is the sentence type that carried the time.
	Sentence string
}

// Satellite is one satellite in view as GSV reports it.
type Satellite struct {
	// Talker is the constellation's talker ID ("GP", "GL", ...); PRN the
	// satellite's number.
	Talker string
	PRN    int
	// ElevationDeg (0-90) and AzimuthDeg (0-359, from true north) place it
	// in the sky; SNRdB is its signal to noise ratio, 0 when not tracked.
	ElevationDeg, AzimuthDeg, SNRdB int
}

// FieldError is a wrong value of one field of a refclock configuration:
// Field names it as Go spells it, from Config ("Locker.NMEADelay") or from
// the LockerConfig validated alone ("NMEADelay"); Err says what is wrong.
type FieldError = fielderr.Error

// fieldErr returns a *FieldError about field.
func fieldErr(field, format string, args ...any) error {
	return fielderr.New("refclock", field, format, args...)
}
