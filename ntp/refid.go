package ntp

import (
	"net/netip"
	"strconv"
)

// RefID is the 32-bit reference identifier of an NTP header (RFC 5905
// section 7.3, figure 12): four ASCII octets, NUL-padded, naming the
// reference at stratum 0 (a kiss code) and 1 (a refclock kind), the
// upstream's IPv4 address (or the first four octets of the MD5 of its IPv6
// address) at stratum 2 and above.
type RefID [4]byte

// Reference identifiers gnomon serves or reads.
var (
	// RefIDPPS names a pulse-per-second source numbered by NMEA or NTP.
	RefIDPPS = RefIDFromString("PPS")
	// RefIDGPS names a GPS receiver's NMEA time alone (milliseconds good).
	RefIDGPS = RefIDFromString("GPS")
	// RefIDInit is served before the first synchronisation (stratum 16).
	RefIDInit = RefIDFromString("INIT")
	// RefIDStep is served briefly after the clock was stepped.
	RefIDStep = RefIDFromString("STEP")
	// KissRate is the RATE kiss code: the client polls too fast.
	KissRate = RefIDFromString("RATE")
	// KissDeny is the DENY kiss code: access denied, stop.
	KissDeny = RefIDFromString("DENY")
	// KissRstr is the RSTR kiss code: access restricted, stop.
	KissRstr = RefIDFromString("RSTR")
)

// RefIDFromString returns the refid of up to four ASCII characters (longer
// strings are cut to four), NUL-padded.
func RefIDFromString(s string) RefID {
	var r RefID
	copy(r[:], s)
	return r
}

// RefIDFromAddr returns the refid of an upstream server at stratum 2 or
// above: its IPv4 address; for IPv6, the first four octets of the MD5 of the
// address (RFC 5905 section 7.3).
func RefIDFromAddr(a netip.Addr) RefID {
	a = a.Unmap()
	if a.Is4() {
		return RefID(a.As4())
	}
	return refIDFromIPv6(a.As16())
}

// IsZero reports whether r is all zero (no reference).
func (r RefID) IsZero() bool { return r == RefID{} }

// Printable reports whether r is ASCII letters, digits or spaces, NUL-padded:
// a kiss code or refclock name rather than an address.
func (r RefID) Printable() bool {
	end := false
	for i, c := range r {
		switch {
		case c == 0:
			if i == 0 {
				return false
			}
			end = true
		case end:
			return false
		case c == ' ', c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		default:
			return false
		}
	}
	return true
}

// String returns the refid as ASCII when Printable, else in dotted-quad
// form (an IPv4 address or an IPv6 hash).
func (r RefID) String() string { return string(r.AppendString(make([]byte, 0, 15))) }

// AppendString appends the refid as String formats it, without allocating
// when b has room.
func (r RefID) AppendString(b []byte) []byte {
	if r.Printable() {
		n := 0
		for n < 4 && r[n] != 0 {
			n++
		}
		return append(b, r[:n]...)
	}
	for i, c := range r {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return b
}

// MarshalText returns String's form, so logs and JSON show the refid as
// text.
func (r RefID) MarshalText() ([]byte, error) { return r.AppendString(nil), nil }
