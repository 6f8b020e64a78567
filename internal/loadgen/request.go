package loadgen

import (
	"errors"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// request is the client request the generator sends: NTPv4, mode 3, poll 6
// (64 s, as a pool client would say), precision -20, everything else zero
// but the transmit timestamp, set per request.
var request = ntp.Header{Version: 4, Mode: ntp.ModeClient, PollLog2: 6, PrecisionLog2: -20}

// EncodeRequest writes the generator's 48-octet client request into b with
// xmt as its transmit timestamp; the server echoes xmt as the origin
// timestamp, which is how replies are matched.
func EncodeRequest(b []byte, xmt uint64) {
	h := request
	h.TransmitTime = ntp.Time(xmt)
	ntp.Encode(&h, b)
}

// Response is what the generator reads from a reply: its NTP header.
type Response struct{ ntp.Header }

// KoD reports whether the reply is a kiss-o'-death (stratum 0, RFC 5905
// section 7.4); RefID then holds the kiss code, e.g. "RATE".
func (r *Response) KoD() bool { return r.Stratum == 0 }

// IsRate reports whether the reply is a RATE kiss-o'-death.
func (r *Response) IsRate() bool { return r.KoD() && r.RefID == ntp.KissRate }

// ErrNotReply is ParseResponse's answer to a packet that is not mode 4.
var ErrNotReply = errors.New("loadgen: reply is not mode 4 (server)")

// ParseResponse decodes the header of a server reply: ntp.ErrShort for
// fewer than 48 octets, ErrNotReply unless mode 4. What follows the header
// is the server's business: extension fields that do not parse are no error.
func ParseResponse(b []byte, r *Response) error {
	if err := ntp.Decode(b, &r.Header); err == ntp.ErrShort {
		return err
	}
	if r.Mode != ntp.ModeServer {
		return ErrNotReply
	}
	return nil
}
