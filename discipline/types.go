package discipline

import "time"

// Leap is the NTP leap indicator (RFC 5905 section 7.3).
type Leap uint8

// Leap indicator values.
const (
	LeapNone   Leap = 0 // no warning
	LeapInsert Leap = 1 // last minute of the day has 61 seconds
	LeapDelete Leap = 2 // last minute of the day has 59 seconds
	LeapAlarm  Leap = 3 // clock unsynchronised
)

// Clock is what the discipline steers: the system clock through adjtimex on
// hardware, a simulated oscillator otherwise. Units and signs:
// a positive frequency makes the clock run faster; Step(d) adds d to the
// clock's reading (so Step(offset) with offset = reference - local corrects it).
type Clock interface {
	// Now reads the clock.
	Now() time.Time
	// FrequencyPPB returns the frequency correction in force, in parts per billion.
	FrequencyPPB() (float64, error)
	// SetFrequencyPPB sets the frequency correction, in parts per billion.
	SetFrequencyPPB(ppb float64) error
	// Step adds d to the clock at once.
	Step(d time.Duration) error
	// SetSync marks the clock synchronised (or not) with its estimated and
	// maximum error, so the kernel keeps the RTC in step and reports it.
	SetSync(synced bool, estErr, maxErr time.Duration) error
	// SetLeap arms (LeapInsert, LeapDelete) or clears (LeapNone) the leap
	// second at the end of the current UTC day.
	SetLeap(l Leap) error
}

// SyncState is the published state of the discipline, read by the server
// through an atomic pointer. It is immutable once published.
type SyncState struct {
	// Synced is true while the clock is locked to its reference (or in
	// holdover within its error budget).
	Synced bool
	// Leap is the leap indicator to serve (LeapAlarm when not synced).
	Leap Leap
	// Stratum is 1 when synced to the refclock, 16 otherwise.
	Stratum uint8
	// RefID is the reference identifier: "PPS", "GPS", or "INIT" before sync.
	RefID string
	// RefTime is the local clock time of the last clock update.
	RefTime time.Time
	// RootDelay is the round trip delay to the primary reference (0 for a refclock).
	RootDelay time.Duration
	// RootDispersion is the error bound at RefTime; servers add
	// DispersionRate * (now - RefTime) to it when answering.
	RootDispersion time.Duration
	// DispersionRate is how fast RootDispersion grows after RefTime, in
	// seconds per second (RFC 5905 PHI = 15e-6).
	DispersionRate float64
	// PrecisionLog2 is the clock's precision as log2 seconds (e.g. -20 ≈ 1 µs).
	PrecisionLog2 int8
	// OffsetEst is the last estimated offset (reference - local), for monitoring.
	OffsetEst time.Duration
	// FreqPPB is the frequency correction in force, for monitoring.
	FreqPPB float64
}
