package selection

import (
	"fmt"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

// FirstTime says where the appliance took its first time from (a Pi has no
// real-time clock: at boot its clock reads 1970 or a saved time).
type FirstTime struct {
	// Peer is the system peer of the first synchronisation.
	Peer source.ID
	// Kind is its sample's kind (PPS, GPS or NTP).
	Kind source.Kind
	// Agreeing counts the upstream servers among the truechimers beside
	// it (candidates, outliers and the peer itself when it is one).
	Agreeing int
	// Upstreams counts the upstream servers configured.
	Upstreams int
}

// FirstTimeOf returns the first synchronisation's FirstTime from the
// sources' standings (States), or false while no source is the system
// peer.
func FirstTimeOf(states []SourceState) (FirstTime, bool) {
	var ft FirstTime
	found := false
	for _, s := range states {
		if s.ID != source.RefclockID {
			ft.Upstreams++
			switch s.State {
			case StateCandidate, StateOutlier, StateSystemPeer:
				ft.Agreeing++
			}
		}
		if s.State == StateSystemPeer {
			ft.Peer, ft.Kind, found = s.ID, s.Last.Kind, true
		}
	}
	return ft, found
}

// String says it in a sentence, for the log.
func (f FirstTime) String() string {
	switch {
	case f.Kind.Refclock() && f.Upstreams == 0:
		return "first time taken from the GPS (no upstream servers configured)"
	case f.Kind.Refclock() && f.Agreeing == 0:
		return "first time taken from the GPS alone: no upstream server vouched for it within the start-up wait"
	case f.Kind.Refclock():
		return fmt.Sprintf("first time taken from the GPS, vouched for by %d of %d upstream servers", f.Agreeing, f.Upstreams)
	}
	return fmt.Sprintf("first time taken from the upstream servers (%s, %d of %d agreeing), not the GPS", f.Peer, f.Agreeing, f.Upstreams)
}

// From names the origin in a few words, for a log attribute: "GPS vouched
// by upstreams", "GPS alone", "GPS, no upstreams configured" or
// "upstreams".
func (f FirstTime) From() string {
	switch {
	case f.Kind.Refclock() && f.Upstreams == 0:
		return "GPS, no upstreams configured"
	case f.Kind.Refclock() && f.Agreeing == 0:
		return "GPS alone"
	case f.Kind.Refclock():
		return "GPS vouched by upstreams"
	}
	return "upstreams"
}

// NTPTimeOf returns the selected NTP time at local time now, for numbering
// a bare PPS wire: the offset (reference - local) of the upstream that is
// the system peer, else of the truechimer candidate with the least root
// distance, and its error bound — its root distance grown by PHI with the
// sample's age. ok is false when no upstream is a truechimer.
func NTPTimeOf(states []SourceState, now time.Time) (offset, errorBound time.Duration, ok bool) {
	var best *SourceState
	for i := range states {
		s := &states[i]
		if s.Last.Kind != source.KindNTP || (s.State != StateSystemPeer && s.State != StateCandidate) {
			continue
		}
		switch {
		case best == nil, s.State == StateSystemPeer && best.State != StateSystemPeer:
			best = s
		case (s.State == StateSystemPeer) == (best.State == StateSystemPeer) && RootDistance(s.Last) < RootDistance(best.Last):
			best = s
		}
	}
	if best == nil {
		return 0, 0, false
	}
	age := max(0, now.Sub(best.Last.Local))
	return best.Last.Offset, RootDistance(best.Last) + time.Duration(PHI*float64(age)), true
}
