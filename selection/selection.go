package selection

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/source"
)

// Config tunes the selection.
type Config struct {
	// MaxAge is how long an upstream's last sample keeps it selectable; a
	// source silent for longer is unusable until it speaks again. It should
	// cover a few poll intervals of the slowest source.
	MaxAge time.Duration
	// RefclockHoldover is how long the refclock's last sample keeps it
	// selectable (and the clock holding over on it at its stratum) before
	// the upstreams take over.
	RefclockHoldover time.Duration
	// StartupWait is how long, with upstreams configured, the refclock
	// waits for an upstream to vouch for it before it may set the clock
	// alone (a GPS's first time is taken only when the upstreams agree).
	StartupWait time.Duration
	// MinSurvivors is how many truechimers the clustering keeps at least
	// (RFC 5905 NMIN).
	MinSurvivors int
	// MaxRefclockDisagreement is how far the refclock's offset may be from
	// a majority of the usable upstreams' (each aged by PHI and the
	// clock's unlearnt skew) before it is a falseticker even inside their
	// correctness intervals, which over the internet are tens of
	// milliseconds wide: a GPS dragged away slowly is refused at this
	// bound, not at their root distance. 0 turns the check off.
	MaxRefclockDisagreement time.Duration
}

// Defaults.
const (
	// DefaultMaxAge: 20 minutes, beyond an NTP source's 1024 s maximum poll.
	DefaultMaxAge = 20 * time.Minute
	// DefaultRefclockHoldover: an hour of holdover on the refclock.
	DefaultRefclockHoldover = time.Hour
	// DefaultStartupWait: a minute, several iburst exchanges and a DNS
	// retry.
	DefaultStartupWait = time.Minute
	// DefaultMaxRefclockDisagreement: 10 ms, several times what
	// asymmetric internet paths put between honest upstreams and true
	// time, far below a spoofer's jump.
	DefaultMaxRefclockDisagreement = 10 * time.Millisecond
	// PHI is the dispersion growth of a sample's interval with its age, in
	// seconds per second (RFC 5905).
	PHI = 15e-6
)

// DefaultConfig returns the default settings.
func DefaultConfig() Config {
	return Config{MaxAge: DefaultMaxAge, RefclockHoldover: DefaultRefclockHoldover, StartupWait: DefaultStartupWait, MinSurvivors: 3,
		MaxRefclockDisagreement: DefaultMaxRefclockDisagreement}
}

// FieldError is a wrong value of one Config field (Field as Go spells it).
type FieldError = fielderr.Error

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.MaxAge <= 0 {
		errs = append(errs, fielderr.New("selection", "MaxAge", "%v: must be positive", c.MaxAge))
	}
	if c.RefclockHoldover <= 0 {
		errs = append(errs, fielderr.New("selection", "RefclockHoldover", "%v: must be positive", c.RefclockHoldover))
	}
	if c.StartupWait < 0 {
		errs = append(errs, fielderr.New("selection", "StartupWait", "%v: must not be negative", c.StartupWait))
	}
	if c.MaxRefclockDisagreement < 0 {
		errs = append(errs, fielderr.New("selection", "MaxRefclockDisagreement", "%v: must not be negative (0 turns the check off)", c.MaxRefclockDisagreement))
	}
	if c.MinSurvivors < 1 {
		errs = append(errs, fielderr.New("selection", "MinSurvivors", "%d: must be at least 1", c.MinSurvivors))
	}
	return errors.Join(errs...)
}

// State is a source's standing in the last selection, with the tally code
// ntpq -p shows for it.
type State uint8

// Source states.
const (
	// StateUnusable: no recent sample (tally ' ').
	StateUnusable State = iota
	// StateCandidate: usable, not the system peer (tally '+').
	StateCandidate
	// StateOutlier: usable but discarded by clustering (tally '-').
	StateOutlier
	// StateFalseticker: outside the intersection of the truechimers
	// (tally 'x').
	StateFalseticker
	// StateSystemPeer: its samples steer the clock (tally '*').
	StateSystemPeer
)

// Tally returns the ntpq -p tally code of the state.
func (s State) Tally() byte {
	return " +-x*"[s]
}

// String names the state.
func (s State) String() string {
	switch s {
	case StateCandidate:
		return "candidate"
	case StateOutlier:
		return "outlier"
	case StateFalseticker:
		return "falseticker"
	case StateSystemPeer:
		return "system peer"
	}
	return "unusable"
}

// SourceState is one source's standing after a selection.
type SourceState struct {
	// ID names the source.
	ID source.ID
	// State is its standing.
	State State
	// Last is its last sample (zero Local before any).
	Last source.Sample
	// Samples counts the samples it gave; Used those passed to the
	// discipline.
	Samples, Used uint64
}

// Result is the outcome of one selection.
type Result struct {
	// Use says whether the sample just added comes from the system peer
	// and should steer the clock.
	Use bool
	// Identity is the served identity (zero Peer: no system peer).
	Identity source.Identity
}

// ErrUnknownSource is returned by Add for a sample from a source that was
// not registered.
var ErrUnknownSource = errors.New("selection: sample from an unregistered source")

type candidate struct {
	id      source.ID
	last    source.Sample
	samples uint64
	used    uint64
	state   State
	prefer  bool
}

// Selector holds the candidates and their latest samples. It is not safe
// for concurrent use: one goroutine (the discipline's) owns it.
type Selector struct {
	cfg    Config
	cands  []*candidate // in registration order
	peer   *candidate
	ntp    bool      // an upstream is registered
	start  time.Time // local time of the first selection
	now    time.Time // local time of the last selection (never goes back)
	synced bool      // a system peer has been chosen once
	alarm  string
	// skew is how far, beyond PHI, the local clock's frequency may be off
	// (seconds per second): before the discipline has learnt it, a
	// sample's offset goes stale that much faster.
	skew float64
}

// UnlearntSkewPPM is the frequency error, in ppm, a local clock the
// discipline has not yet locked may have: a Raspberry Pi's crystal is
// within ±100 ppm (the kernel's own limit is 500 ppm).
const UnlearntSkewPPM = 100

// SetFrequencyLearnt tells the selector whether the discipline knows the
// local clock's frequency yet (discipline.Loop.FrequencyLearnt). Until it
// does, the clock may run UnlearntSkewPPM off, and a sample's correctness
// interval grows by PHI plus that much per second of its age, so samples
// taken a few seconds apart on a clock still running tens of ppm fast are
// not taken for a disagreement. A new Selector starts unlearnt.
func (s *Selector) SetFrequencyLearnt(learnt bool) {
	s.skew = 0
	if !learnt {
		s.skew = UnlearntSkewPPM * 1e-6
	}
}

// AddUpstream registers an upstream NTP server (prefer: preferred among
// upstreams of equal standing).
func (s *Selector) AddUpstream(id source.ID, prefer bool) error {
	if s.find(id) != nil {
		return fmt.Errorf("selection: source %q given twice", id)
	}
	s.cands = append(s.cands, &candidate{id: id, prefer: prefer})
	s.ntp = true
	return nil
}

// New returns a Selector over the sources ids, in the order the views list
// them. It fails if cfg does not validate or an id repeats.
func New(cfg Config, ids ...source.ID) (*Selector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Selector{cfg: cfg, skew: UnlearntSkewPPM * 1e-6}
	for _, id := range ids {
		if slices.ContainsFunc(s.cands, func(c *candidate) bool { return c.id == id }) {
			return nil, fmt.Errorf("selection: source %q given twice", id)
		}
		s.cands = append(s.cands, &candidate{id: id})
	}
	return s, nil
}

func (s *Selector) find(id source.ID) *candidate {
	for _, c := range s.cands {
		if c.id == id {
			return c
		}
	}
	return nil
}

// Add records smp and selects again at smp.Local. Result.Use says whether
// smp is the system peer's and should steer the clock.
func (s *Selector) Add(smp source.Sample) (Result, error) {
	c := s.find(smp.Source)
	if c == nil {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownSource, smp.Source)
	}
	c.last = smp
	c.samples++
	// An upstream's clock-filter pick may be minutes older than the
	// others' latest samples: the selection runs at the latest time seen,
	// never back in time, so no sample looks younger than it is.
	s.selectAt(later(s.now, smp.Local))
	res := Result{Identity: s.identity()}
	if s.peer == c {
		res.Use = true
		c.used++
	}
	return res, nil
}

// Tick selects again at now (local clock), so a silent source ages out.
func (s *Selector) Tick(now time.Time) Result {
	s.selectAt(later(s.now, now))
	return Result{Identity: s.identity()}
}

// selectAt runs the selection at local time now (RFC 5905 section 11.2):
// the usable candidates' correctness intervals are intersected, the
// sources outside the majority's intersection marked falsetickers, the
// truechimers clustered, and the system peer chosen among the survivors —
// the refclock first while it is a truechimer (it is the reference the
// appliance exists for), then the least root distance.
func (s *Selector) selectAt(now time.Time) {
	if s.start.IsZero() {
		s.start = now
	}
	s.now = now
	s.alarm = ""
	var usable []*candidate
	upstreams := 0
	for _, c := range s.cands {
		c.state = StateUnusable
		maxAge := s.cfg.MaxAge
		if c.last.Kind.Refclock() {
			maxAge = s.cfg.RefclockHoldover
		}
		if c.last.Local.IsZero() || now.Sub(c.last.Local) > maxAge {
			continue
		}
		usable = append(usable, c)
		if c.last.Kind == source.KindNTP {
			upstreams++
		}
	}
	if len(usable) == 0 {
		s.peer = nil
		return
	}
	prev := s.peer
	s.peer = nil
	true_ := s.intersect(usable, now)
	if true_ == nil {
		// No majority agrees (the refclock and one upstream, say): nobody
		// can be outvoted. Keep the source that set the clock so far, and
		// say so; with none yet, set nothing.
		keep := find(usable, func(c *candidate) bool { return c == prev })
		if keep == nil {
			s.alarm = "sources disagree and no majority can be formed: not synchronising"
			for _, c := range usable {
				c.state = StateFalseticker
			}
			return
		}
		s.alarm = "sources disagree and there are too few to outvote either: keeping " + string(keep.id)
		true_ = []*candidate{keep}
		for _, c := range usable {
			if c != keep {
				c.state = StateFalseticker
			}
		}
	}
	true_ = s.outvoteRefclock(true_, usable, now)
	survivors := s.cluster(true_, now)
	for _, c := range survivors {
		c.state = StateCandidate
		if s.peer == nil || better(c, s.peer) {
			s.peer = c
		}
	}
	// Clock-hop avoidance: a surviving peer of the same class stays the
	// system peer (switching between equals restarts nothing but adds
	// their differences as noise).
	if prev != nil && s.peer != nil && slices.Contains(survivors, prev) &&
		prev.last.Kind.Refclock() == s.peer.last.Kind.Refclock() && prev.prefer == s.peer.prefer {
		s.peer = prev
	}
	if !s.synced && s.peer != nil && now.Sub(s.start) < s.cfg.StartupWait && len(usable) < min(len(s.cands), 3) {
		// Before the first synchronisation, wait (StartupWait at most) for
		// enough sources to vote: a lone first answer may be the liar.
		s.peer = nil
		return
	}
	ref := s.peer != nil && s.peer.last.Kind.Refclock()
	if ref && s.ntp && !s.synced && upstreams == 0 && now.Sub(s.start) < s.cfg.StartupWait {
		// The GPS's first time waits for an upstream to vouch for it.
		s.peer.state = StateCandidate
		s.peer = nil
		return
	}
	if s.peer != nil {
		s.peer.state = StateSystemPeer
		s.synced = true
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func find(cs []*candidate, f func(*candidate) bool) *candidate {
	for _, c := range cs {
		if f(c) {
			return c
		}
	}
	return nil
}

// interval is a candidate's correctness interval at now: its offset ±
// its root distance grown with the sample's age (by PHI and the clock's
// unlearnt skew).
func (s *Selector) interval(c *candidate, now time.Time) (lo, hi time.Duration) {
	d := RootDistance(c.last) + time.Duration((PHI+s.skew)*float64(max(now.Sub(c.last.Local), 0)))
	return c.last.Offset - d, c.last.Offset + d
}

// intersect returns the truechimers: the candidates whose intervals contain
// the point where most intervals overlap, if more than half do (Marzullo's
// algorithm, RFC 5905 section 11.2.1); the rest are marked falsetickers.
// It returns nil when no majority overlaps.
func (s *Selector) intersect(cs []*candidate, now time.Time) []*candidate {
	type edge struct {
		at  time.Duration
		typ int // +1 lower end, -1 upper end
	}
	var edges []edge
	for _, c := range cs {
		lo, hi := s.interval(c, now)
		edges = append(edges, edge{lo, +1}, edge{hi, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return b.typ - a.typ // lower ends first: touching intervals overlap
	})
	best, n := 0, 0
	var point time.Duration
	for _, e := range edges {
		n += e.typ
		if n > best {
			best, point = n, e.at
		}
	}
	if 2*best <= len(cs) && len(cs) > 1 {
		return nil
	}
	var out []*candidate
	for _, c := range cs {
		if lo, hi := s.interval(c, now); lo <= point && point <= hi {
			out = append(out, c)
		} else {
			c.state = StateFalseticker
		}
	}
	return out
}

// outvoteRefclock marks the refclock among the truechimers a falseticker
// when a majority of the usable upstreams (at least two) put the time
// further than MaxRefclockDisagreement from it, beyond what their samples'
// age allows, and returns the truechimers left.
func (s *Selector) outvoteRefclock(true_, usable []*candidate, now time.Time) []*candidate {
	bound := s.cfg.MaxRefclockDisagreement
	ref := find(true_, func(c *candidate) bool { return c.last.Kind.Refclock() })
	if bound <= 0 || ref == nil {
		return true_
	}
	upstreams, against := 0, 0
	for _, c := range usable {
		if c.last.Kind != source.KindNTP {
			continue
		}
		upstreams++
		age := max(now.Sub(c.last.Local), 0) + max(now.Sub(ref.last.Local), 0)
		allow := bound + time.Duration((PHI+s.skew)*float64(age))
		if (c.last.Offset - ref.last.Offset).Abs() > allow {
			against++
		}
	}
	if against < 2 || 2*against <= upstreams {
		return true_
	}
	ref.state = StateFalseticker
	return slices.DeleteFunc(slices.Clone(true_), func(c *candidate) bool { return c == ref })
}

// cluster discards outliers among the truechimers (RFC 5905 section
// 11.2.2): while more than MinSurvivors remain, the one whose offset is
// furthest, in RMS, from the others goes, unless that spread is already
// below the smallest source jitter. A refclock is never discarded.
func (s *Selector) cluster(cs []*candidate, now time.Time) []*candidate {
	cs = slices.Clone(cs)
	for len(cs) > s.cfg.MinSurvivors {
		worst, worstJit := -1, 0.0
		minJit := math.Inf(1)
		for i, c := range cs {
			minJit = math.Min(minJit, float64(c.last.Sigma))
			if c.last.Kind.Refclock() {
				continue
			}
			var sum float64
			for _, o := range cs {
				d := float64(c.last.Offset - o.last.Offset)
				sum += d * d
			}
			if j := math.Sqrt(sum / float64(len(cs)-1)); j > worstJit {
				worst, worstJit = i, j
			}
		}
		if worst < 0 || worstJit <= minJit {
			break
		}
		cs[worst].state = StateOutlier
		cs = slices.Delete(cs, worst, worst+1)
	}
	return cs
}

// better reports whether a should be the system peer rather than b.
func better(a, b *candidate) bool {
	if a.last.Kind.Refclock() != b.last.Kind.Refclock() {
		return a.last.Kind.Refclock()
	}
	if a.prefer != b.prefer {
		return a.prefer
	}
	return RootDistance(a.last) < RootDistance(b.last)
}

// Stepped tells the selector the local clock was stepped by d: every
// stored offset (reference - local) drops by d.
func (s *Selector) Stepped(d time.Duration) {
	if !s.now.IsZero() {
		s.now = s.now.Add(d)
	}
	if !s.start.IsZero() {
		s.start = s.start.Add(d)
	}
	for _, c := range s.cands {
		if !c.last.Local.IsZero() {
			c.last.Offset -= d
			c.last.Local = c.last.Local.Add(d)
		}
	}
}

// Slewed tells the selector the discipline has slewed the local clock
// ahead by d since the last call (discipline.Loop.TakeSlewed): every
// stored offset (reference - local) drops by d, as in Stepped, so samples
// taken before and after a fast slew still compare.
func (s *Selector) Slewed(d time.Duration) {
	for _, c := range s.cands {
		if !c.last.Local.IsZero() {
			c.last.Offset -= d
		}
	}
}

// Upstreams counts the registered upstream servers.
func (s *Selector) Upstreams() int {
	n := 0
	for _, c := range s.cands {
		if c.id != source.RefclockID {
			n++
		}
	}
	return n
}

// Alarm returns why the last selection is unsure ("" when it is not).
func (s *Selector) Alarm() string { return s.alarm }

// RootDistance is the sample's distance to the primary reference (RFC 5905
// section 11.2.1 without the age term): half the root delay and round trip,
// plus the root dispersion and the sample's own error bound.
func RootDistance(smp source.Sample) time.Duration {
	return (smp.RootDelay+smp.Delay)/2 + smp.RootDispersion + smp.ErrorBound
}

func (s *Selector) identity() source.Identity {
	if s.peer == nil {
		return source.Identity{}
	}
	p := s.peer.last
	return source.Identity{
		Peer:           s.peer.id,
		Kind:           p.Kind,
		Stratum:        p.Stratum + 1,
		RefID:          p.RefID,
		RootDelay:      p.RootDelay + p.Delay,
		RootDispersion: p.RootDispersion,
		Leap:           p.Leap,
	}
}

// States returns every source's standing, in registration order.
func (s *Selector) States() []SourceState {
	out := make([]SourceState, len(s.cands))
	for i, c := range s.cands {
		out[i] = SourceState{ID: c.id, State: c.state, Last: c.last, Samples: c.samples, Used: c.used}
	}
	return out
}
