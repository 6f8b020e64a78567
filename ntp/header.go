package ntp

import (
	"encoding/binary"
	"errors"
)

// The NTP packet header (RFC 5905 section 7.3, figure 8). Every field is
// big-endian; the header is 48 octets and may be followed by extension fields
// (RFC 7822) and a message authentication code (RFC 5905 section 7.3, 9.2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |  0
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Root Delay                            |  4
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Root Dispersion                       |  8
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Reference ID                         | 12
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Reference Timestamp (64)                  | 16
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Origin Timestamp (64)                    | 24
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Receive Timestamp (64)                   | 32
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Transmit Timestamp (64)                  | 40
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	.                                                               .
//	.              Extension Fields (RFC 7822), optional            .
//	.                                                               .
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Key Identifier + Message Digest (MAC), optional      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// HeaderLen is the length of the NTP packet header in octets (RFC 5905 section 7.3).
const HeaderLen = 48

// Byte offsets of the header fields (RFC 5905 section 7.3).
const (
	offLVM       = 0
	offStratum   = 1
	offPoll      = 2
	offPrecision = 3
	offRootDelay = 4
	offRootDisp  = 8
	offRefID     = 12
	offRefTime   = 16
	offOrigin    = 24
	offReceive   = 32
	offTransmit  = 40
)

// Association modes (RFC 5905 section 7.3, figure 10).
const (
	ModeReserved  = 0 // reserved; NTPv1 clients send 0 (RFC 1059 had no mode field)
	ModeActive    = 1 // symmetric active
	ModePassive   = 2 // symmetric passive
	ModeClient    = 3 // client
	ModeServer    = 4 // server
	ModeBroadcast = 5 // broadcast
	ModeControl   = 6 // NTP control message (RFC 1305 appendix B)
	ModePrivate   = 7 // reserved for private use (ntpd's ntpdc)
)

// Trailer says what follows the 48-octet header (RFC 7822 section 7.5).
type Trailer uint8

// Trailer kinds.
const (
	TrailerNone       Trailer = iota // exactly 48 octets
	TrailerExtensions                // one or more extension fields, perhaps then a MAC
	TrailerMAC                       // a MAC (or a 4-octet crypto-NAK) only
)

// Header is a decoded NTP packet header (RFC 5905 section 7.3). Field names
// follow the RFC; units are in the names.
type Header struct {
	Leap           uint8   // LI, 2 bits (section 7.3, figure 9)
	Version        uint8   // VN, 3 bits
	Mode           uint8   // Mode, 3 bits (figure 10)
	Stratum        uint8   // 0 = kiss-o'-death, 1 = primary, 16 = unsynchronised (figure 11)
	PollLog2       int8    // maximum interval between messages, log2 seconds
	PrecisionLog2  int8    // clock precision, log2 seconds
	RootDelay      Short   // round trip to the reference clock, NTP short format
	RootDispersion Short   // error bound to the reference clock, NTP short format
	RefID          RefID   // reference ID or kiss code (figure 12)
	RefTime        Time    // when the clock was last set or corrected
	OriginTime     Time    // T1: client's transmit time, echoed by servers
	ReceiveTime    Time    // T2: when the request arrived at the server
	TransmitTime   Time    // T3: when the reply left the server
	TrailerKind    Trailer // what followed the header (never echoed)
	ExtensionCount uint8   // number of RFC 7822 extension fields seen (saturating)
}

// Decoding errors. They are preallocated so Decode never allocates.
var (
	ErrShort     = errors.New("ntp: packet shorter than 48 octets")
	ErrMalformed = errors.New("ntp: malformed extension fields or MAC")
)

// maxMACLen is the longest MAC accepted after the header or the last
// extension field: a 4-octet key ID and a digest of up to 64 octets
// (RFC 5905 section 7.3 allows MD5 and SHA-1; ntpd and chrony accept longer
// digests such as SHA-512 truncated to the packet).
const maxMACLen = 4 + 64

// Decode parses the 48-octet header of b into h and classifies what follows
// it (RFC 7822 section 7.5). It never allocates and never panics.
func Decode(b []byte, h *Header) error {
	if len(b) < HeaderLen {
		return ErrShort
	}
	lvm := b[offLVM]
	h.Leap = lvm >> 6
	h.Version = (lvm >> 3) & 7
	h.Mode = lvm & 7
	h.Stratum = b[offStratum]
	h.PollLog2 = int8(b[offPoll])
	h.PrecisionLog2 = int8(b[offPrecision])
	h.RootDelay = Short(binary.BigEndian.Uint32(b[offRootDelay:]))
	h.RootDispersion = Short(binary.BigEndian.Uint32(b[offRootDisp:]))
	copy(h.RefID[:], b[offRefID:offRefID+4])
	h.RefTime = Time(binary.BigEndian.Uint64(b[offRefTime:]))
	h.OriginTime = Time(binary.BigEndian.Uint64(b[offOrigin:]))
	h.ReceiveTime = Time(binary.BigEndian.Uint64(b[offReceive:]))
	h.TransmitTime = Time(binary.BigEndian.Uint64(b[offTransmit:]))
	kind, n, ok := parseTrailer(b[HeaderLen:])
	h.TrailerKind, h.ExtensionCount = kind, n
	if !ok {
		return ErrMalformed
	}
	return nil
}

// parseTrailer walks the extension fields after the header (RFC 7822
// section 7.5): each is a 16-bit type, a 16-bit length counting the whole
// field, at least 16 octets and a multiple of 4. What remains once no further
// field fits is a MAC when its length is one (a multiple of 4 up to
// maxMACLen; 4 is the crypto-NAK). A field of 20 or 24 octets is
// indistinguishable from a MAC, so, as RFC 7822 section 7.5 says, a
// remainder of those lengths is taken for a MAC.
func parseTrailer(b []byte) (kind Trailer, exts uint8, ok bool) {
	for len(b) > 0 {
		if len(b)%4 != 0 {
			return kind, exts, false
		}
		if len(b) <= 24 {
			return macKind(kind), exts, true
		}
		l := int(binary.BigEndian.Uint16(b[2:4]))
		if l < 16 || l%4 != 0 || l > len(b) {
			if len(b) <= maxMACLen {
				return macKind(kind), exts, true
			}
			return kind, exts, false
		}
		kind = TrailerExtensions
		if exts < 255 {
			exts++
		}
		b = b[l:]
	}
	return kind, exts, true
}

func macKind(k Trailer) Trailer {
	if k == TrailerExtensions {
		return k
	}
	return TrailerMAC
}

// Encode writes the 48-octet header into out[:HeaderLen] and returns
// HeaderLen. Extension fields and MACs are never written (gnomon's server
// answers with a bare header: RFC 7822 fields are not echoed), and
// TrailerKind and ExtensionCount are ignored. It never allocates and panics
// only if out is shorter than HeaderLen, a programming error.
func Encode(h *Header, out []byte) int {
	_ = out[HeaderLen-1]
	out[offLVM] = h.Leap<<6 | (h.Version&7)<<3 | h.Mode&7
	out[offStratum] = h.Stratum
	out[offPoll] = byte(h.PollLog2)
	out[offPrecision] = byte(h.PrecisionLog2)
	binary.BigEndian.PutUint32(out[offRootDelay:], uint32(h.RootDelay))
	binary.BigEndian.PutUint32(out[offRootDisp:], uint32(h.RootDispersion))
	copy(out[offRefID:offRefID+4], h.RefID[:])
	binary.BigEndian.PutUint64(out[offRefTime:], uint64(h.RefTime))
	binary.BigEndian.PutUint64(out[offOrigin:], uint64(h.OriginTime))
	binary.BigEndian.PutUint64(out[offReceive:], uint64(h.ReceiveTime))
	binary.BigEndian.PutUint64(out[offTransmit:], uint64(h.TransmitTime))
	return HeaderLen
}

// PutTransmitTime overwrites the transmit timestamp of the header encoded in
// out (at least HeaderLen octets), so a sender can stamp a packet as late as
// possible, right before it leaves.
func PutTransmitTime(out []byte, t Time) {
	binary.BigEndian.PutUint64(out[offTransmit:offTransmit+8], uint64(t))
}
