package selection

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/source"
)

// Config tunes the selection.
type Config struct {
	// MaxAge is how long a source's last sample keeps it selectable; a
	// source silent for longer is unusable until it speaks again. It should
	// cover a few poll intervals of the slowest source.
	MaxAge time.Duration
}

// DefaultMaxAge is the default Config.MaxAge: 20 minutes, beyond an NTP
// source's 1024 s maximum poll, so a slowly polled upstream stays a
// candidate between its samples.
const DefaultMaxAge = 20 * time.Minute

// DefaultConfig returns the default settings.
func DefaultConfig() Config { return Config{MaxAge: DefaultMaxAge} }

// FieldError is a wrong value of one Config field (Field as Go spells it).
type FieldError = fielderr.Error

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	if c.MaxAge <= 0 {
		return fielderr.New("selection", "MaxAge", "%v: must be positive", c.MaxAge)
	}
	return nil
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
}

// Selector holds the candidates and their latest samples. It is not safe
// for concurrent use: one goroutine (the discipline's) owns it.
type Selector struct {
	cfg   Config
	cands []*candidate // in registration order
	peer  *candidate
}

// New returns a Selector over the sources ids, in the order the views list
// them. It fails if cfg does not validate or an id repeats.
func New(cfg Config, ids ...source.ID) (*Selector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Selector{cfg: cfg}
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
	s.selectAt(smp.Local)
	res := Result{Identity: s.identity()}
	if s.peer == c {
		res.Use = true
		c.used++
	}
	return res, nil
}

// Tick selects again at now (local clock), so a silent source ages out.
func (s *Selector) Tick(now time.Time) Result {
	s.selectAt(now)
	return Result{Identity: s.identity()}
}

// selectAt ranks the candidates usable at now: a refclock first (it is
// the reference the appliance exists for), then the smallest root
// distance (RFC 5905 section 11.2.3's order for the survivors).
func (s *Selector) selectAt(now time.Time) {
	s.peer = nil
	for _, c := range s.cands {
		c.state = StateUnusable
		if c.last.Local.IsZero() || now.Sub(c.last.Local) > s.cfg.MaxAge {
			continue
		}
		c.state = StateCandidate
		if s.peer == nil || better(c.last, s.peer.last) {
			s.peer = c
		}
	}
	if s.peer != nil {
		s.peer.state = StateSystemPeer
	}
}

// better reports whether a should be the system peer rather than b.
func better(a, b source.Sample) bool {
	if a.Kind.Refclock() != b.Kind.Refclock() {
		return a.Kind.Refclock()
	}
	return RootDistance(a) < RootDistance(b)
}

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
