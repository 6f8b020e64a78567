package source

import (
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// Kind is what kind of source produced a sample.
type Kind uint8

// Source kinds.
const (
	// KindNone is the zero Kind: no source.
	KindNone Kind = iota
	// KindPPS is a pulse-per-second edge numbered by a receiver's NMEA
	// second (or by NTP time): microseconds good.
	KindPPS
	// KindGPS is a receiver's NMEA time alone: milliseconds good.
	KindGPS
	// KindNTP is an upstream NTP server.
	KindNTP
)

// String names the kind as the status views show it.
func (k Kind) String() string {
	switch k {
	case KindPPS:
		return "PPS"
	case KindGPS:
		return "GPS"
	case KindNTP:
		return "NTP"
	}
	return "none"
}

// Refclock reports whether the kind is a local reference clock (stratum 0
// behind it) rather than a network source.
func (k Kind) Refclock() bool { return k == KindPPS || k == KindGPS }

// ID names one source for selection, logs and the status views: "GPS" for
// the GPS hat's refclock (its samples are PPS or GPS kind as the pulse lock
// comes and goes), an upstream's "host:port" for NTP.
type ID string

// RefclockID is the ID of the GPS hat's reference clock.
const RefclockID ID = "GPS"

// Sample is one measurement of the local clock against a source. Units and
// signs: Offset = reference - local (positive: the local clock is behind).
type Sample struct {
	// Source names the source that measured it.
	Source ID
	// Kind is what kind of measurement it is.
	Kind Kind
	// Local is the local clock reading the measurement refers to (for a
	// pulse: its timestamp; for NTP: the midpoint of the exchange).
	Local time.Time
	// Offset is reference - local at Local.
	Offset time.Duration
	// Sigma is the estimated one-standard-deviation error of Offset: the
	// weight the servo gives the sample.
	Sigma time.Duration
	// ErrorBound bounds |Offset - true offset| from this measurement alone
	// (the half-width of its correctness interval, RFC 5905 section 11.2.1,
	// before root delay and dispersion).
	ErrorBound time.Duration
	// Delay is the round trip of the measurement (0 for a refclock).
	Delay time.Duration
	// Stratum is the source's own stratum: 0 for a refclock, the server's
	// stratum for NTP. Serving from it gives Stratum + 1.
	Stratum uint8
	// RefID is the reference ID served when this source is the system peer:
	// ntp.RefIDPPS or ntp.RefIDGPS for the refclock, the upstream's address
	// (ntp.RefIDFromAddr) for NTP.
	RefID ntp.RefID
	// RootDelay and RootDispersion are the source's own root delay and
	// dispersion to its primary reference (0 for a PPS refclock; for NMEA
	// alone the uncertainty of the sentence delay, which no sample shows;
	// the server's header fields for NTP).
	RootDelay, RootDispersion time.Duration
	// Leap is the leap indicator the source announces (ntp.LeapNone for a
	// refclock, which does not read leap warnings).
	Leap ntp.Leap
}

// Identity is what a server says about the time it serves: the served
// header fields that follow from the system peer (RFC 5905 section 11.2.3).
// RootDispersion is the part the source contributes; the discipline adds
// its own error estimate and the growth since the last update.
type Identity struct {
	// Peer is the system peer's ID ("" with none).
	Peer ID
	// Kind is the system peer's kind.
	Kind Kind
	// Stratum is the stratum served: the peer's stratum + 1.
	Stratum uint8
	// RefID is the reference ID served.
	RefID ntp.RefID
	// RootDelay is the root delay served: the peer's root delay plus the
	// round trip to it.
	RootDelay time.Duration
	// RootDispersion is the peer's own root dispersion; the discipline adds
	// its estimate of the clock's error against the peer.
	RootDispersion time.Duration
	// Leap is the leap indicator the peer announces.
	Leap ntp.Leap
}
