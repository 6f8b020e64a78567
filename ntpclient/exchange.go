package ntpclient

import (
	"errors"
	"fmt"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// Measurement is one checked exchange with a server (RFC 5905 section 8).
// Times are on the local clock; offset = server - local.
type Measurement struct {
	// Local is the local time the measurement refers to: the midpoint of
	// the exchange.
	Local time.Time
	// Offset is ((T2 - T1) + (T3 - T4)) / 2.
	Offset time.Duration
	// Delay is (T4 - T1) - (T3 - T2), the round trip less the server's time.
	Delay time.Duration
	// Stratum, Leap, RefID, RootDelay, RootDispersion and PrecisionLog2 are
	// the server's header fields.
	Stratum                   uint8
	Leap                      ntp.Leap
	RefID                     ntp.RefID
	RootDelay, RootDispersion time.Duration
	PrecisionLog2             int8
	// PollLog2 is the poll the server asked for (a RATE kiss says how slow).
	PollLog2 int8
}

// KissError is a kiss-o'-death reply (stratum 0, RFC 5905 section 7.4).
type KissError struct {
	// Code is the kiss code, e.g. ntp.KissRate.
	Code ntp.RefID
	// PollLog2 is the poll the server asked for.
	PollLog2 int8
}

func (e *KissError) Error() string { return "ntpclient: kiss-o'-death " + e.Code.String() }

// Reply check failures.
var (
	ErrNotServer   = errors.New("ntpclient: reply is not mode 4 (server)")
	ErrBogusOrigin = errors.New("ntpclient: origin timestamp does not echo the request (stale or spoofed reply)")
	ErrStratum     = errors.New("ntpclient: stratum outside 1..15")
	ErrUnsynced    = errors.New("ntpclient: server unsynchronised (leap 3)")
	ErrNoTransmit  = errors.New("ntpclient: zero transmit timestamp")
	ErrDistance    = errors.New("ntpclient: root distance over the limit")
	ErrRoundTrip   = errors.New("ntpclient: round trip negative or over the limit")
)

// Limits are the sanity bounds on a reply.
type Limits struct {
	// MaxDistance bounds the server's root distance (root delay / 2 + root
	// dispersion, RFC 5905 MAXDIST).
	MaxDistance time.Duration
	// MaxDelay bounds the round trip of an exchange.
	MaxDelay time.Duration
}

// DefaultLimits are RFC 5905's MAXDIST (1.5 s) and a 1 s round trip.
func DefaultLimits() Limits {
	return Limits{MaxDistance: 1500 * time.Millisecond, MaxDelay: time.Second}
}

// Check decodes reply b to a request whose transmit timestamp was xmt,
// sent at local time t1 and received at t4, and returns the measurement or
// why the reply is unusable (a *KissError for a kiss-o'-death).
func Check(b []byte, xmt ntp.Time, t1, t4 time.Time, lim Limits) (Measurement, error) {
	var h ntp.Header
	if err := ntp.Decode(b, &h); errors.Is(err, ntp.ErrShort) {
		return Measurement{}, err
	}
	if h.Mode != ntp.ModeServer {
		return Measurement{}, ErrNotServer
	}
	if h.OriginTime != xmt {
		return Measurement{}, ErrBogusOrigin
	}
	if h.Stratum == 0 {
		return Measurement{}, &KissError{Code: ntp.RefID(h.RefID), PollLog2: h.PollLog2}
	}
	if h.Stratum > 15 {
		return Measurement{}, ErrStratum
	}
	if ntp.Leap(h.Leap) == ntp.LeapAlarm {
		return Measurement{}, ErrUnsynced
	}
	if h.TransmitTime == 0 || h.ReceiveTime == 0 {
		return Measurement{}, ErrNoTransmit
	}
	m := Measurement{
		Stratum: h.Stratum, Leap: ntp.Leap(h.Leap), RefID: ntp.RefID(h.RefID),
		RootDelay: h.RootDelay.Duration(), RootDispersion: h.RootDispersion.Duration(),
		PrecisionLog2: h.PrecisionLog2, PollLog2: h.PollLog2,
	}
	if m.RootDelay/2+m.RootDispersion > lim.MaxDistance {
		return Measurement{}, fmt.Errorf("%w: %v", ErrDistance, m.RootDelay/2+m.RootDispersion)
	}
	// T2 and T3 are placed near T1 (within 68 years), so era boundaries and
	// a local clock far off both work.
	t2, t3 := h.ReceiveTime.TimeNear(t1), h.TransmitTime.TimeNear(t1)
	m.Delay = t4.Sub(t1) - t3.Sub(t2)
	if m.Delay < 0 || m.Delay > lim.MaxDelay || t4.Before(t1) {
		return Measurement{}, fmt.Errorf("%w: %v", ErrRoundTrip, m.Delay)
	}
	m.Offset = (t2.Sub(t1) + t3.Sub(t4)) / 2
	m.Local = t1.Add(t4.Sub(t1) / 2)
	return m, nil
}

// Request encodes a client request with transmit timestamp xmt into b
// (at least ntp.HeaderLen octets) and returns its length. xmt should be
// random: the reply must echo it (RFC 5905 section 8), which an off-path
// spoofer cannot guess, and it reveals nothing of the local clock.
func Request(b []byte, xmt ntp.Time, pollLog2 int8) int {
	h := ntp.Header{Version: 4, Mode: ntp.ModeClient, PollLog2: pollLog2, TransmitTime: xmt}
	return ntp.Encode(&h, b)
}
