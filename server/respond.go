package server

import (
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
)

// DropReason says why a request got no answer. DropNone means it was answered.
type DropReason uint8

// Reasons a request is dropped. Every drop is counted under one of them.
const (
	DropNone          DropReason = iota // answered
	DropShort                           // shorter than the 48-octet header
	DropMalformed                       // extension fields or MAC that do not parse (RFC 7822)
	DropVersion                         // version 0 or above 4
	DropMode                            // mode 0 (v2-4), 1, 2, 4 or 5: not a client request
	DropModePrivate                     // mode 7 (ntpdc, monlist): never answered
	DropControlRemote                   // mode 6 from a non-loopback address
	DropControlBad                      // mode 6 malformed or not a read-only request
	DropRateLimit                       // over the per-address rate limit, no kiss-o'-death sent
	DropSendError                       // the reply could not be sent
	numDropReasons
)

var dropNames = [numDropReasons]string{
	DropNone:          "none",
	DropShort:         "short",
	DropMalformed:     "malformed",
	DropVersion:       "version",
	DropMode:          "mode",
	DropModePrivate:   "mode7",
	DropControlRemote: "control_remote",
	DropControlBad:    "control_bad",
	DropRateLimit:     "rate_limit",
	DropSendError:     "send_error",
}

// String names the reason for logs and metrics.
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// kind is what the serving path does with a decoded packet.
type kind uint8

const (
	kindDrop    kind = iota // drop, counted under the reason
	kindClient              // a client request: answer (subject to rate limit)
	kindControl             // mode 6: answer read-only if from loopback
)

// classify decodes req into h and decides how to handle it (RFC 5905
// section 9.2, the dispatch table reduced to a server's rows).
func classify(req []byte, h *ntp.Header) (kind, DropReason) {
	if len(req) > 0 && req[0]&7 == ntp.ModeControl {
		// Mode 6 headers are 12 octets (RFC 1305 appendix B): the control
		// path parses them.
		return kindControl, DropNone
	}
	switch err := ntp.Decode(req, h); err {
	case nil:
	case ntp.ErrShort:
		return kindDrop, DropShort
	default:
		return kindDrop, DropMalformed
	}
	if h.Version == 0 || h.Version > 4 {
		return kindDrop, DropVersion
	}
	switch h.Mode {
	case ntp.ModeClient:
		return kindClient, DropNone
	case ntp.ModeReserved:
		// NTPv1 (RFC 1059) had no mode field: its requests carry 0.
		if h.Version == 1 {
			return kindClient, DropNone
		}
		return kindDrop, DropMode
	case ntp.ModeControl:
		return kindControl, DropNone
	case ntp.ModePrivate:
		return kindDrop, DropModePrivate
	default:
		return kindDrop, DropMode
	}
}

// maxDispersion is MAXDISP (RFC 5905 section 7.2): the root dispersion served
// before the clock has ever been set.
const maxDispersion = 16 * time.Second

// maxPollLog2 is MAXPOLL (RFC 5905 section 7.2).
const maxPollLog2 = 17

// Respond builds the answer to the client request req (RFC 5905 sections 8
// and 9.2, server mode) into out, which must hold ntp.HeaderLen octets: rx
// is when req arrived and tx when the reply leaves, both on the served
// clock; state is the discipline's published state (nil means not
// synchronised). It returns the reply length (always ntp.HeaderLen: replies
// are never longer than requests and extension fields are not echoed) or 0
// and why req gets no answer. Mode 6 requests are not answered here (see
// the control path). Respond is pure and does not allocate.
func Respond(req []byte, rx, tx time.Time, state *discipline.SyncState, out []byte) (int, DropReason) {
	var h ntp.Header
	k, why := classify(req, &h)
	if k != kindClient {
		if k == kindControl {
			return 0, DropControlRemote
		}
		return 0, why
	}
	return respondClient(&h, rx, tx, state, out), DropNone
}

// respondClient fills out with the server reply to the decoded request h.
func respondClient(h *ntp.Header, rx, tx time.Time, st *discipline.SyncState, out []byte) int {
	r := ntp.Header{
		Version:     h.Version,
		Mode:        ntp.ModeServer,
		PollLog2:    h.PollLog2,
		OriginTime:  h.TransmitTime, // verbatim, whatever the client put there
		ReceiveTime: ntp.FromTime(rx),
	}
	if r.PollLog2 > maxPollLog2 {
		r.PollLog2 = maxPollLog2
	}
	if st != nil {
		r.PrecisionLog2 = st.PrecisionLog2
		r.RootDelay = ntp.ShortFromDuration(st.RootDelay)
		r.RootDispersion = ntp.ShortFromDuration(rootDispersion(st, tx))
		if !st.RefTime.IsZero() {
			r.RefTime = ntp.FromTime(st.RefTime)
		}
	} else {
		r.RootDispersion = ntp.ShortFromDuration(maxDispersion)
	}
	if st != nil && st.Synced {
		r.Leap = uint8(st.Leap) & 3
		r.Stratum = st.Stratum
		if r.Stratum == 0 || r.Stratum > 15 {
			r.Stratum = 1
		}
		r.RefID = st.RefID
	} else {
		r.Leap = uint8(ntp.LeapAlarm)
		r.Stratum = 16
		r.RefID = ntp.RefIDInit
	}
	r.TransmitTime = ntp.FromTime(tx)
	return ntp.Encode(&r, out)
}

// rootDispersion is the state's error bound grown at DispersionRate since
// RefTime (RFC 5905 section 11.2 / A.5.5.2), MAXDISP before any update.
func rootDispersion(st *discipline.SyncState, now time.Time) time.Duration {
	if st.RefTime.IsZero() {
		if st.RootDispersion > 0 {
			return st.RootDispersion
		}
		return maxDispersion
	}
	d := st.RootDispersion
	if age := now.Sub(st.RefTime); age > 0 && st.DispersionRate > 0 {
		d += time.Duration(float64(age) * st.DispersionRate)
	}
	return d
}

// respondKoD fills out with a RATE kiss-o'-death (RFC 5905 section 7.4) for
// the decoded request h: stratum 0, the kiss code as reference ID, leap 3,
// and a poll of at least pollLog2 so a conforming client backs off. Like
// ntpd, all three timestamps carry the client's transmit timestamp, so the
// packet holds no time a client could mistake for ours.
func respondKoD(h *ntp.Header, pollLog2 int8, out []byte) int {
	r := ntp.Header{
		Leap:         uint8(ntp.LeapAlarm),
		Version:      h.Version,
		Mode:         ntp.ModeServer,
		Stratum:      0,
		PollLog2:     h.PollLog2,
		RefID:        ntp.KissRate,
		OriginTime:   h.TransmitTime,
		ReceiveTime:  h.TransmitTime,
		TransmitTime: h.TransmitTime,
	}
	if r.PollLog2 < pollLog2 {
		r.PollLog2 = pollLog2
	} else if r.PollLog2 < maxPollLog2 {
		r.PollLog2++
	}
	if r.PollLog2 > maxPollLog2 {
		r.PollLog2 = maxPollLog2
	}
	return ntp.Encode(&r, out)
}

// RespondRateKoD builds the RATE kiss-o'-death answering the client request
// req into out (at least ntp.HeaderLen octets), with a poll of at least
// pollLog2.
// It returns 0 and the reason for packets that are not client requests.
func RespondRateKoD(req []byte, pollLog2 int8, out []byte) (int, DropReason) {
	var h ntp.Header
	k, why := classify(req, &h)
	if k != kindClient {
		if k == kindControl {
			return 0, DropControlRemote
		}
		return 0, why
	}
	return respondKoD(&h, pollLog2, out), DropNone
}
