package status

import (
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// Snapshot is the whole state of the appliance at one instant. It is
// immutable once assembled.
type Snapshot struct {
	// Time is the served clock's reading when the snapshot was taken.
	Time time.Time
	// Uptime is how long the appliance has run.
	Uptime time.Duration
	// Sync is the served sync state (never nil).
	Sync *discipline.SyncState
	// Sources lists every configured source in configuration order.
	Sources []Source
	// Refclock is the GPS refclock's state: receiver, pulse numbering,
	// counters; nil without a refclock.
	Refclock *refclock.Status
	// Temperature is the oscillator temperature sensor's last reading and
	// the learned temperature model; nil without a sensor.
	Temperature *discipline.Temperature
	// Server holds the NTP server's counters.
	Server Server
}

// Source is one source's standing and latest measurement.
type Source struct {
	// ID names the source; AssocID is its mode 6 association ID (1-based,
	// in configuration order).
	ID      source.ID
	AssocID uint16
	// Kind is the kind of its last sample (KindNone before any).
	Kind source.Kind
	// State is its standing in the last selection.
	State selection.State
	// Last is its last sample (zero Local before any).
	Last source.Sample
	// Age is how long ago (served clock) the last sample was taken; 0
	// before any.
	Age time.Duration
	// Reach is the reachability register (RFC 5905 section 13): one bit per
	// expected sample over the last eight, newest in bit 0.
	Reach uint8
	// PollLog2 is the interval between samples, log2 seconds.
	PollLog2 int8
	// UpstreamRefID is an upstream server's own reference ID, what it is
	// synchronised to (ntpq -p's refid column); zero for the refclock and
	// before an upstream's first reply. Last.RefID is instead what gnomon
	// serves with this source as system peer (the upstream's address).
	UpstreamRefID ntp.RefID
	// Samples counts the samples it gave; Used those that steered the clock.
	Samples, Used uint64
}

// PeerRefID is the refid ntpq -p shows for the source: an upstream's own
// (INIT before its first reply), the refclock's kind (PPS, GPS; INIT
// before a sample).
func (s Source) PeerRefID() ntp.RefID {
	switch {
	case !s.UpstreamRefID.IsZero():
		return s.UpstreamRefID
	case s.Kind == source.KindNTP || s.Last.RefID.IsZero():
		return ntp.RefIDInit
	}
	return s.Last.RefID
}

// Drop is one drop reason's count.
type Drop struct {
	// Reason names why requests were not answered, e.g. "rate".
	Reason string
	// Count is how many requests were dropped for it.
	Count uint64
}

// Server is the NTP server's counters since it started.
type Server struct {
	// Received counts datagrams read; Answered mode 4 replies sent; KoD
	// kiss-o'-death replies sent; Control mode 6 requests answered.
	Received, Answered, KoD, Control uint64
	// Drops counts requests not answered, by reason (only reasons seen).
	Drops []Drop
}

// Parts are the handles the Collector reads. Any may be nil but Sync.
type Parts struct {
	// Now reads the served clock.
	Now func() time.Time
	// Sync returns the discipline's published state.
	Sync func() *discipline.SyncState
	// Sources returns every source's standing after the last selection.
	Sources func() []selection.SourceState
	// Refclock returns the refclock's status.
	Refclock func() refclock.Status
	// Temperature returns the temperature sensor's reading and model; ok
	// false without a sensor.
	Temperature func() (t discipline.Temperature, ok bool)
	// Server returns the server's counters.
	Server func() Server
	// Upstream returns an upstream's client state; ok false for a source
	// that is not one (the refclock, whose reach follows from its samples,
	// one a second).
	Upstream func(id source.ID) (u Upstream, ok bool)
}

// Upstream is an upstream server's client state beside its samples.
type Upstream struct {
	// Reach is the reachability register; PollLog2 the poll (log2 s).
	Reach    uint8
	PollLog2 int8
	// RefID is the server's own reference ID (zero before a reply).
	RefID ntp.RefID
}

// Collector assembles Snapshots from the parts; safe from any goroutine as
// far as the parts' functions are.
type Collector struct {
	parts Parts
	start time.Time
}

// NewCollector returns a collector over p; start is the appliance's start
// (served clock).
func NewCollector(p Parts, start time.Time) *Collector {
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Collector{parts: p, start: start}
}

// Snapshot assembles the current state.
func (c *Collector) Snapshot() *Snapshot {
	now := c.parts.Now()
	s := &Snapshot{Time: now, Uptime: now.Sub(c.start)}
	if c.parts.Sync != nil {
		s.Sync = c.parts.Sync()
	}
	if s.Sync == nil {
		s.Sync = &discipline.SyncState{Stratum: 16, Leap: ntp.LeapAlarm, RefID: ntp.RefIDInit, RootDispersion: 16 * time.Second}
	}
	if c.parts.Refclock != nil {
		st := c.parts.Refclock()
		s.Refclock = &st
	}
	if c.parts.Temperature != nil {
		if t, ok := c.parts.Temperature(); ok {
			s.Temperature = &t
		}
	}
	if c.parts.Server != nil {
		s.Server = c.parts.Server()
	}
	if c.parts.Sources != nil {
		for i, ss := range c.parts.Sources() {
			src := Source{ID: ss.ID, AssocID: uint16(i + 1), Kind: ss.Last.Kind, State: ss.State,
				Last: ss.Last, Samples: ss.Samples, Used: ss.Used}
			if !ss.Last.Local.IsZero() {
				src.Age = max(now.Sub(ss.Last.Local), 0)
				src.Reach = Reach(src.Age, 0)
			}
			if c.parts.Upstream != nil {
				if u, ok := c.parts.Upstream(ss.ID); ok {
					src.Kind, src.Reach, src.PollLog2, src.UpstreamRefID = source.KindNTP, u.Reach, u.PollLog2, u.RefID
				}
			}
			s.Sources = append(s.Sources, src)
		}
	}
	return s
}

// Reach is the reachability register of a source last heard age ago and
// polled every 2^pollLog2 s: each whole poll interval missed since shifts
// in a zero, so a source answering every poll reads 0377 and a silent one
// falls to 0 after eight intervals.
func Reach(age time.Duration, pollLog2 int8) uint8 {
	interval := time.Second << max(pollLog2, 0)
	missed := int(age / interval)
	if missed >= 8 {
		return 0
	}
	return 0xff << missed
}

// SystemPeer returns the source that steers the clock, or nil.
func (s *Snapshot) SystemPeer() *Source {
	for i := range s.Sources {
		if s.Sources[i].State == selection.StateSystemPeer {
			return &s.Sources[i]
		}
	}
	return nil
}

// Assoc returns the source with mode 6 association ID id, or nil.
func (s *Snapshot) Assoc(id uint16) *Source {
	if id == 0 || int(id) > len(s.Sources) {
		return nil
	}
	return &s.Sources[id-1]
}
