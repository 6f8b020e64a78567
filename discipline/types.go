package discipline

import (
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
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
	// SetLeap arms (ntp.LeapInsert, ntp.LeapDelete) or clears (ntp.LeapNone) the leap
	// second at the end of the current UTC day.
	SetLeap(l ntp.Leap) error
}

// SyncState is the published state of the discipline, read by the server
// through an atomic pointer. It is immutable once published.
type SyncState struct {
	// Synced is true while the clock is locked to its reference (or in
	// holdover within its error budget).
	Synced bool
	// Leap is the leap indicator to serve (ntp.LeapAlarm when not synced).
	Leap ntp.Leap
	// Stratum is the system peer's stratum + 1 when synced (1 for the
	// refclock), 16 otherwise.
	Stratum uint8
	// RefID is the reference identifier: the system peer's (ntp.RefIDPPS,
	// ntp.RefIDGPS, an upstream's address), or ntp.RefIDInit before sync.
	RefID ntp.RefID
	// Peer and PeerKind name the system peer whose samples steer the clock
	// ("" before any).
	Peer     source.ID
	PeerKind source.Kind
	// RefTime is the local clock time of the last clock update.
	RefTime time.Time
	// RootDelay is the round trip delay to the primary reference (0 for a
	// refclock), as the selection decided it.
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
	// Alarm is why samples were last refused (an implausible reference
	// time, a step beyond the limit), "" when none was in the last
	// AlarmHold.
	Alarm string
	// Refused counts the samples refused since start.
	Refused uint64
}
