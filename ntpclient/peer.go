package ntpclient

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

// PeerConfig configures one upstream server.
type PeerConfig struct {
	// MinPollLog2 and MaxPollLog2 bound the poll interval, log2 seconds
	// (RFC 5905: 6 and 10, 64 s and 1024 s).
	MinPollLog2, MaxPollLog2 int8
	// IBurst sends the first requests IBurstCount at IBurstInterval apart,
	// so the server is usable seconds after start.
	IBurst bool
	// Prefer marks the server preferred among equals.
	Prefer bool
	// Limits are the reply sanity bounds.
	Limits Limits
}

// Poll and burst constants.
const (
	// DefaultMinPollLog2 and DefaultMaxPollLog2 are RFC 5905's MINPOLL and
	// MAXPOLL: 64 s and 1024 s.
	DefaultMinPollLog2 = 6
	DefaultMaxPollLog2 = 10
	// IBurstCount requests go out IBurstInterval apart at start.
	IBurstCount    = 8
	IBurstInterval = 2 * time.Second
	// FilterSize is the clock filter's length (RFC 5905 section 10).
	FilterSize = 8
	// PHI is the frequency tolerance a measurement's dispersion grows by,
	// in seconds per second (RFC 5905).
	PHI = 15e-6
)

// DefaultPeerConfig returns a server polled between 64 and 1024 s, with
// iburst.
func DefaultPeerConfig() PeerConfig {
	return PeerConfig{MinPollLog2: DefaultMinPollLog2, MaxPollLog2: DefaultMaxPollLog2, IBurst: true, Limits: DefaultLimits()}
}

// Validate reports what is wrong with c.
func (c PeerConfig) Validate() error {
	if c.MinPollLog2 < 0 || c.MaxPollLog2 > 17 || c.MinPollLog2 > c.MaxPollLog2 {
		return fielderr.New("ntpclient", "MinPollLog2", "poll range %d..%d: want 0 <= minpoll <= maxpoll <= 17", c.MinPollLog2, c.MaxPollLog2)
	}
	if c.Limits.MaxDistance <= 0 || c.Limits.MaxDelay <= 0 {
		return fielderr.New("ntpclient", "Limits", "limits must be positive")
	}
	return nil
}

// filterEntry is one clock-filter sample.
type filterEntry struct {
	m    Measurement
	disp time.Duration // the sample's own dispersion at m.Local
}

// Peer is one upstream server's protocol state: pure, driven by the
// poller with local times.
type Peer struct {
	id   source.ID
	cfg  PeerConfig
	poll int8 // current poll, log2 s
	// reach is the reachability register: a 1 shifted in per answered
	// request, a 0 per request sent (RFC 5905 section 13).
	reach    uint8
	sent     uint64
	burst    int // iburst requests left
	next     time.Time
	filter   []filterEntry
	lastUsed time.Time // Local of the last sample given out
	stopped  error     // DENY/RSTR: no more requests
	kissed   uint64
	rejected uint64
	last     error
	goodRun  int // answers since the poll last changed
	served   ntp.RefID
}

// SetRefID sets the refid served with this peer as system peer: its
// address (ntp.RefIDFromAddr), once resolved.
func (p *Peer) SetRefID(id ntp.RefID) { p.served = id }

// NewPeer returns the state of upstream id, first polled at start.
func NewPeer(id source.ID, cfg PeerConfig, start time.Time) (*Peer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Peer{id: id, cfg: cfg, poll: cfg.MinPollLog2, next: start}
	if cfg.IBurst {
		p.burst = IBurstCount
	}
	return p, nil
}

// ID names the peer.
func (p *Peer) ID() source.ID { return p.id }

// Next returns when the next request is due; the zero time never (stopped
// by a kiss).
func (p *Peer) Next() time.Time {
	if p.stopped != nil {
		return time.Time{}
	}
	return p.next
}

// PollLog2 returns the current poll interval, log2 seconds.
func (p *Peer) PollLog2() int8 { return p.poll }

// Sent records a request sent at now and schedules the next one.
func (p *Peer) Sent(now time.Time) {
	p.sent++
	p.reach <<= 1
	if p.burst > 0 {
		p.burst--
		if p.burst > 0 {
			p.next = now.Add(IBurstInterval)
			return
		}
	}
	p.next = now.Add(time.Second << p.poll)
}

// Unreachable reports whether the server has not answered for a whole
// reach register (eight polls): the poller re-resolves its name then.
func (p *Peer) Unreachable() bool { return p.sent >= 8 && p.reach == 0 }

// Received folds in a reply's outcome at local time now: a measurement, or
// the error Check returned. It returns a new sample for the selection when
// the clock filter yields one (the minimum-delay sample of the last eight,
// newer than the last given out).
func (p *Peer) Received(m Measurement, err error, now time.Time) (source.Sample, bool) {
	p.last = err
	if err != nil {
		if k, ok := err.(*KissError); ok {
			p.kissed++
			switch k.Code {
			case ntp.KissRate:
				// Back off: at least double, and at least what it asks.
				p.poll = min(max(p.poll+1, k.PollLog2), p.cfg.MaxPollLog2)
				p.burst = 0
				p.next = now.Add(time.Second << p.poll)
			case ntp.KissDeny, ntp.KissRstr:
				p.stopped = fmt.Errorf("server said %s: not asked again", k.Code)
			}
			return source.Sample{}, false
		}
		p.rejected++
		return source.Sample{}, false
	}
	p.reach |= 1
	if m.PollLog2 > p.poll && m.PollLog2 <= p.cfg.MaxPollLog2 {
		p.poll = m.PollLog2 // the server asks for a longer poll
	}
	disp := time.Duration(math.Ldexp(1e9, int(m.PrecisionLog2))) + time.Duration(math.Ldexp(1e9, -20))
	p.filter = append(p.filter, filterEntry{m: m, disp: disp})
	if len(p.filter) > FilterSize {
		p.filter = p.filter[1:]
	}
	p.adaptPoll()
	best := p.best(now)
	if !best.m.Local.After(p.lastUsed) {
		return source.Sample{}, false
	}
	p.lastUsed = best.m.Local
	return p.sample(best, now), true
}

// best is the clock filter's pick (RFC 5905 section 10): the sample of least
// distance (delay / 2 + dispersion grown since it was taken).
func (p *Peer) best(now time.Time) filterEntry {
	return slices.MinFunc(p.filter, func(a, b filterEntry) int {
		return cmp.Compare(p.distance(a, now), p.distance(b, now))
	})
}

func (p *Peer) distance(e filterEntry, now time.Time) time.Duration {
	return e.m.Delay/2 + e.disp + time.Duration(PHI*float64(now.Sub(e.m.Local)))
}

// Stepped shifts the filter by a step d of the local clock: each sample's
// offset drops by d and its local time moves by d (RFC 5905 clears the
// filter; shifting keeps the samples usable).
func (p *Peer) Stepped(d time.Duration) {
	for i := range p.filter {
		p.filter[i].m.Offset -= d
		p.filter[i].m.Local = p.filter[i].m.Local.Add(d)
	}
	if !p.lastUsed.IsZero() {
		p.lastUsed = p.lastUsed.Add(d)
	}
}

// Jitter is the RMS of the filter's offsets about the best one's (RFC 5905
// section 10), at least the precision-based floor.
func (p *Peer) Jitter(now time.Time) time.Duration {
	if len(p.filter) < 2 {
		return 0
	}
	b := p.best(now).m.Offset
	var s float64
	for _, e := range p.filter {
		d := float64(e.m.Offset - b)
		s += d * d
	}
	return time.Duration(math.Sqrt(s / float64(len(p.filter)-1)))
}

// adaptPoll lengthens the poll toward MaxPollLog2 while the server answers
// every request, and keeps it at MinPollLog2 after losses (a simple form
// of RFC 5905's poll process: jitter is small against a GPS-disciplined
// clock, so the interval is set by reachability).
func (p *Peer) adaptPoll() {
	if p.burst > 0 {
		return
	}
	p.goodRun++
	switch {
	case p.reach&0x0f != 0x0f && p.poll > p.cfg.MinPollLog2:
		p.poll--
		p.goodRun = 0
	case p.goodRun >= FilterSize && p.poll < p.cfg.MaxPollLog2:
		p.poll++
		p.goodRun = 0
	}
}

// sample turns the filter's pick into a selection sample.
func (p *Peer) sample(e filterEntry, now time.Time) source.Sample {
	jit := max(p.Jitter(now), e.disp)
	return source.Sample{
		Source: p.id, Kind: source.KindNTP, Local: e.m.Local, Offset: e.m.Offset,
		Sigma: max(jit, e.m.Delay/4), ErrorBound: e.m.Delay/2 + e.disp + jit,
		Delay: e.m.Delay, Stratum: e.m.Stratum, RefID: p.refID(e.m),
		RootDelay: e.m.RootDelay, RootDispersion: e.m.RootDispersion, Leap: e.m.Leap,
	}
}

// refID is what we serve as refid with this server as system peer: its
// address (set by the poller through SetRefID), else its own refid.
func (p *Peer) refID(m Measurement) ntp.RefID {
	if !p.served.IsZero() {
		return p.served
	}
	return m.RefID
}

// Status is a peer's state for the views.
type Status struct {
	// Reach is the reachability register; PollLog2 the current poll.
	Reach    uint8
	PollLog2 int8
	// Sent, Kissed and Rejected count requests and bad replies.
	Sent, Kissed, Rejected uint64
	// Stopped is why the server is no longer asked (DENY/RSTR), or nil.
	Stopped error
	// LastErr is the last reply's problem, or nil.
	LastErr error
	// UpstreamRefID is the server's own reference ID (its source).
	UpstreamRefID ntp.RefID
}

// Status returns the peer's state.
func (p *Peer) Status() Status {
	st := Status{Reach: p.reach, PollLog2: p.poll, Sent: p.sent, Kissed: p.kissed, Rejected: p.rejected, Stopped: p.stopped, LastErr: p.last}
	if n := len(p.filter); n > 0 {
		st.UpstreamRefID = p.filter[n-1].m.RefID
	}
	return st
}
