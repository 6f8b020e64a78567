package discsim

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/ntpclient"
)

// Server is one simulated upstream NTP server and the network path to it.
// Its replies are real NTP packets, checked by ntpclient.Check and folded
// into a real ntpclient.Peer (clock filter, reachability, poll), so the
// samples the selection sees come through the appliance's own code.
type Server struct {
	// Offset is the server's clock - true time: an honest server's small
	// error, or a liar's lie.
	Offset time.Duration
	// Stratum, RootDelay and RootDispersion are what the server reports.
	Stratum                   uint8
	RootDelay, RootDispersion time.Duration
	// Out and Back are the one-way base delays of the request and the reply
	// (their difference is the path's asymmetry: it biases the measured
	// offset by (Out - Back) / 2).
	Out, Back time.Duration
	// Jitter is the mean of the exponential queueing delay added to each
	// direction of each exchange.
	Jitter time.Duration
	// Loss is the probability that an exchange gets no reply.
	Loss float64
	// DownFrom..DownTo (seconds from the start) the server never answers
	// (DownTo 0: to the end of the run).
	DownFrom, DownTo float64
}

// Liar reports whether the server's own time is off by more than any
// honest server's (1 ms).
func (s Server) Liar() bool { return s.Offset > time.Millisecond || s.Offset < -time.Millisecond }

func (s Server) down(at float64) bool {
	return s.DownFrom > 0 && at >= s.DownFrom && (s.DownTo == 0 || at < s.DownTo)
}

// serverProcessing is the time a server holds a request before its reply
// leaves (T3 - T2).
const serverProcessing = 30 * time.Microsecond

// errNoReply is the simulated exchange's timeout (the poller's read deadline).
var errNoReply = errors.New("discsim: no reply within the timeout")

// errSteppedDuring is the poller's refusal of an exchange the local clock was
// stepped during.
var errSteppedDuring = errors.New("discsim: the local clock was stepped during the exchange")

// exchange is one request in flight: its reply (nil: lost) arrives at the
// true instant at.
type exchange struct {
	peer  int
	at    time.Time // true arrival (or timeout) instant
	reply []byte
	xmt   ntp.Time
	t1    time.Time // local send time
	steps int       // the clock's step count at the send
}

// send starts an exchange with server srv from the client at the true
// instant ta (t1 the local clock there): it draws the path's delays and
// loss, and builds the server's reply as the server would (origin echoed,
// its receive and transmit timestamps on its own clock).
func send(rng *rand.Rand, srv Server, peer int, pollLog2 int8, ta time.Time, t1 time.Time, steps int, atS float64) exchange {
	xmt := ntp.Time(rng.Uint64())
	lost := rng.Float64() < srv.Loss
	dOut := srv.Out + time.Duration(rng.ExpFloat64()*float64(srv.Jitter))
	dBack := srv.Back + time.Duration(rng.ExpFloat64()*float64(srv.Jitter))
	ex := exchange{peer: peer, xmt: xmt, t1: t1, steps: steps}
	if lost || srv.down(atS) {
		ex.at = ta.Add(ntpclient.ReplyTimeout)
		return ex
	}
	t2 := ta.Add(dOut).Add(srv.Offset)
	t3 := t2.Add(serverProcessing)
	h := ntp.Header{
		Version: 4, Mode: ntp.ModeServer, Stratum: srv.Stratum, PollLog2: pollLog2, PrecisionLog2: -20,
		RootDelay: ntp.ShortFromDuration(srv.RootDelay), RootDispersion: ntp.ShortFromDuration(srv.RootDispersion),
		RefID: ntp.RefIDGPS, RefTime: ntp.FromTime(t3.Add(-8 * time.Second)),
		OriginTime: xmt, ReceiveTime: ntp.FromTime(t2), TransmitTime: ntp.FromTime(t3),
	}
	ex.reply = make([]byte, ntp.HeaderLen)
	ntp.Encode(&h, ex.reply)
	ex.at = ta.Add(dOut + serverProcessing + dBack)
	return ex
}

// receive checks the exchange's reply at local time t4 with the poller's
// checks; stepsNow is the clock's step count now.
func (ex exchange) receive(t4 time.Time, stepsNow int, lim ntpclient.Limits) (ntpclient.Measurement, error) {
	if ex.reply == nil {
		return ntpclient.Measurement{}, errNoReply
	}
	m, err := ntpclient.Check(ex.reply, ex.xmt, ex.t1, t4, lim)
	if err == nil && stepsNow != ex.steps {
		err = errSteppedDuring
	}
	return m, err
}

// honest returns the i-th honest server of a scenario: a nearby stratum 1
// with its own small error, a path of a few milliseconds with up to ±1.5 ms
// of asymmetry, queueing jitter and a little loss, all drawn from rng (the
// scenario's seed).
func honest(rng *rand.Rand) Server {
	base := time.Duration(2+rng.IntN(14)) * time.Millisecond // 2-15 ms each way
	asym := time.Duration((rng.Float64()*2 - 1) * 1.5e6)     // ±1.5 ms
	return Server{
		Offset:         time.Duration(rng.NormFloat64() * 30e3), // 30 µs 1 sigma
		Stratum:        1,
		RootDispersion: time.Duration(100+rng.IntN(400)) * time.Microsecond,
		Out:            base + asym/2,
		Back:           base - asym/2,
		Jitter:         time.Duration(200+rng.IntN(1800)) * time.Microsecond,
		Loss:           0.01 + 0.04*rng.Float64(),
	}
}
