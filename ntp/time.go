package ntp

// Conversions between time.Time and NTP's 64-bit timestamp and 32-bit short
// formats (RFC 5905 section 6), handling eras by pivoting.

import "time"

// unixToNTP is the number of seconds from the NTP epoch (1900) to the Unix epoch (1970).
const unixToNTP = 2208988800

// Time is an NTP timestamp: seconds since 1900 (modulo 2^32, the era) in the
// high 32 bits and the binary fraction of a second in the low 32 bits.
type Time uint64

// Seconds returns the whole seconds of the timestamp: seconds since the
// start of its NTP era (era 0 began 1900-01-01 UTC).
func (n Time) Seconds() uint32 { return uint32(n >> 32) }

// FromTime converts t to an NTP timestamp (era dropped).
func FromTime(t time.Time) Time {
	sec := uint64(t.Unix() + unixToNTP)
	frac := (uint64(t.Nanosecond())<<32 + 500000000) / 1000000000
	// frac can round up to 2^32 for nanoseconds just under one second.
	return Time(sec<<32 + frac)
}

// eraPivot is the start of the 136-year window timestamps are placed in:
// 1968-01-20, so the window runs to 2104.
var eraPivot = time.Date(1968, 1, 20, 3, 14, 8, 0, time.UTC).Unix()

// Time converts the timestamp to a time.Time in the 136-year window starting
// 1968-01-20 (so NTP era 1, from 2036, is handled).
func (n Time) Time() time.Time {
	sec := int64(n>>32) - unixToNTP
	for sec < eraPivot {
		sec += 1 << 32
	}
	nsec := (int64(uint32(n))*1000000000 + 1<<31) >> 32
	return time.Unix(sec, nsec).UTC()
}

// TimeNear converts the timestamp to the time.Time nearest to ref (within
// 68 years), for fields such as origin that echo a recent time.
func (n Time) TimeNear(ref time.Time) time.Time {
	d := int64(n - FromTime(ref)) // wraps: signed difference in 2^-32 s units
	return ref.Add(Duration(d))
}

// Duration converts a signed count of 2^-32 s units to a time.Duration.
func Duration(units int64) time.Duration {
	whole := units >> 32
	frac := units & (1<<32 - 1)
	return time.Duration(whole)*time.Second + time.Duration((frac*1000000000+1<<31)>>32)
}

// Short is the NTP 32-bit short format: 16.16 fixed-point seconds, used for
// root delay and root dispersion.
type Short uint32

// ShortFromDuration converts d (clamped to [0, 65536 s)) to the short format,
// rounding up so an error bound is never understated.
func ShortFromDuration(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	v := (uint64(d)<<16 + 999999999) / 1000000000
	if v > 0xffffffff {
		return 0xffffffff
	}
	return Short(v)
}

// Duration converts the short format to a time.Duration.
func (s Short) Duration() time.Duration {
	return time.Duration((uint64(s)*1000000000 + 1<<15) >> 16)
}
