package loadgen

import (
	"encoding/binary"
	"errors"
)

// PacketLen is the length of an NTPv4 header without extensions (RFC 5905
// section 7.3).
const PacketLen = 48

// NTP modes (RFC 5905 section 7.3).
const (
	ModeClient = 3
	ModeServer = 4
)

// EncodeRequest writes a 48-byte NTPv4 client (mode 3) request into b with
// xmt as its transmit timestamp; the server echoes xmt as the origin
// timestamp, which is how replies are matched.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Root Delay (4) | Root Dispersion (4) | Reference ID (4)    |
//	|    Reference Timestamp (8)  | Origin Timestamp (8) @24        |
//	|    Receive Timestamp (8) @32 | Transmit Timestamp (8) @40     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
func EncodeRequest(b []byte, xmt uint64) {
	_ = b[PacketLen-1]
	clear(b[:PacketLen])
	b[0] = 0<<6 | 4<<3 | ModeClient // LI 0, VN 4, mode 3
	b[2] = 6                        // poll 64 s, as a pool client would say
	b[3] = 0xec                     // precision -20
	binary.BigEndian.PutUint64(b[40:], xmt)
}

// Response is what the generator reads from a reply.
type Response struct {
	Leap    uint8
	Version uint8
	Mode    uint8
	Stratum uint8
	RefID   [4]byte
	Origin  uint64
	Receive uint64
	Xmit    uint64
}

// KoD reports whether the reply is a kiss-o'-death (stratum 0, RFC 5905
// section 7.4); RefID then holds the kiss code, e.g. "RATE".
func (r *Response) KoD() bool { return r.Stratum == 0 }

// IsRate reports whether the reply is a RATE kiss-o'-death.
func (r *Response) IsRate() bool { return r.KoD() && r.RefID == [4]byte{'R', 'A', 'T', 'E'} }

// Errors from ParseResponse.
var (
	ErrShort    = errors.New("loadgen: reply shorter than 48 bytes")
	ErrNotReply = errors.New("loadgen: reply is not mode 4 (server)")
)

// ParseResponse decodes the fixed header of a server reply.
func ParseResponse(b []byte, r *Response) error {
	if len(b) < PacketLen {
		return ErrShort
	}
	r.Leap = b[0] >> 6
	r.Version = b[0] >> 3 & 7
	r.Mode = b[0] & 7
	r.Stratum = b[1]
	copy(r.RefID[:], b[12:16])
	r.Origin = binary.BigEndian.Uint64(b[24:])
	r.Receive = binary.BigEndian.Uint64(b[32:])
	r.Xmit = binary.BigEndian.Uint64(b[40:])
	if r.Mode != ModeServer {
		return ErrNotReply
	}
	return nil
}
