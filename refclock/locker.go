package refclock

import (
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
)

// LockerConfig tunes the pairing of pulses with NMEA seconds.
type LockerConfig struct {
	// NMEADelay is the receiver's typical delay from the pulse to the end of
	// the sentence naming it; it is subtracted for NMEA-only (GPS) samples.
	NMEADelay time.Duration
	// MaxNMEADelay is the longest a sentence may follow its pulse and still
	// name it.
	MaxNMEADelay time.Duration
}

// Locker numbers each PPS pulse with the UTC second its NMEA sentence names
// and turns pulses (or, without pulses, sentences) into samples. It is pure:
// inputs carry their local timestamps and must be given in arrival order.
type Locker struct {
	cfg LockerConfig
}

// NewLocker returns a Locker with cfg.
func NewLocker(cfg LockerConfig) *Locker { return &Locker{cfg: cfg} }

// AddTime takes one NMEA time message; it returns a sample when one can be
// made (a pulse now numbered, or an NMEA-only sample when no pulses arrive).
func (l *Locker) AddTime(m TimeMsg) (Sample, bool) { return Sample{}, false }

// AddEdge takes one PPS edge; it returns a sample when the pulse can be
// numbered already.
func (l *Locker) AddEdge(e pps.Edge) (Sample, bool) { return Sample{}, false }
