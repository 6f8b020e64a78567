package selection

import (
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

func TestFirstTimeOf(t *testing.T) {
	gps := func(st State) SourceState {
		return SourceState{ID: source.RefclockID, State: st, Last: source.Sample{Kind: source.KindPPS}}
	}
	up := func(id string, st State) SourceState {
		return SourceState{ID: source.ID(id), State: st, Last: source.Sample{Kind: source.KindNTP}}
	}
	for _, tc := range []struct {
		states []SourceState
		ok     bool
		want   FirstTime
		text   string
		from   string
	}{
		{[]SourceState{gps(StateCandidate), up("a:123", StateCandidate)}, false, FirstTime{}, "", ""},
		{[]SourceState{gps(StateSystemPeer)}, true, FirstTime{Peer: "GPS", Kind: source.KindPPS},
			"first time taken from the GPS (no upstream servers configured)", "GPS, no upstreams configured"},
		{[]SourceState{gps(StateSystemPeer), up("a:123", StateCandidate), up("b:123", StateOutlier), up("c:123", StateFalseticker)}, true,
			FirstTime{Peer: "GPS", Kind: source.KindPPS, Agreeing: 2, Upstreams: 3},
			"first time taken from the GPS, vouched for by 2 of 3 upstream servers", "GPS vouched by upstreams"},
		{[]SourceState{gps(StateSystemPeer), up("a:123", StateUnusable)}, true,
			FirstTime{Peer: "GPS", Kind: source.KindPPS, Upstreams: 1},
			"first time taken from the GPS alone: no upstream server vouched for it within the start-up wait", "GPS alone"},
		{[]SourceState{gps(StateFalseticker), up("a:123", StateSystemPeer), up("b:123", StateCandidate)}, true,
			FirstTime{Peer: "a:123", Kind: source.KindNTP, Agreeing: 2, Upstreams: 2},
			"first time taken from the upstream servers (a:123, 2 of 2 agreeing), not the GPS", "upstreams"},
	} {
		got, ok := FirstTimeOf(tc.states)
		if ok != tc.ok || (ok && (got != tc.want || got.String() != tc.text || got.From() != tc.from)) {
			t.Errorf("FirstTimeOf(%v) = %+v %v %q, want %+v %v %q", tc.states, got, ok, got.String(), tc.want, tc.ok, tc.text)
		}
	}
}

// The selector's own first synchronisation, read back: the GPS waits for
// an upstream, then is the system peer with it vouching.
func TestFirstTimeFromSelector(t *testing.T) {
	s, err := New(DefaultConfig(), source.RefclockID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUpstream("up:123", false); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s.Add(source.Sample{Source: source.RefclockID, Kind: source.KindPPS, Local: now, ErrorBound: 3 * time.Microsecond})
	if _, ok := FirstTimeOf(s.States()); ok {
		t.Fatal("the GPS alone was taken before an upstream vouched")
	}
	s.Add(source.Sample{Source: "up:123", Kind: source.KindNTP, Local: now.Add(time.Second), Offset: 100 * time.Microsecond,
		Delay: time.Millisecond, Stratum: 1})
	ft, ok := FirstTimeOf(s.States())
	if !ok || ft.Peer != source.RefclockID || ft.Agreeing != 1 {
		t.Fatalf("after the upstream vouched: %+v %v (%v)", ft, ok, s.States())
	}
}

func TestNTPTimeOf(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	up := func(id string, st State, off, delay time.Duration, age time.Duration) SourceState {
		return SourceState{ID: source.ID(id), State: st, Last: source.Sample{Source: source.ID(id), Kind: source.KindNTP,
			Local: now.Add(-age), Offset: off, Delay: delay, Stratum: 1}}
	}
	gps := SourceState{ID: source.RefclockID, State: StateSystemPeer, Last: source.Sample{Kind: source.KindPPS, Local: now, Offset: 5 * time.Second}}
	if _, _, ok := NTPTimeOf([]SourceState{gps, up("liar:123", StateFalseticker, time.Second, 0, 0), up("old:123", StateUnusable, 0, 0, 0)}, now); ok {
		t.Error("an NTP time from no truechimer")
	}
	// The candidate with the least root distance, with its age's growth.
	off, bound, ok := NTPTimeOf([]SourceState{gps, up("far:123", StateCandidate, 3*time.Millisecond, 40*time.Millisecond, 0),
		up("near:123", StateCandidate, time.Millisecond, 2*time.Millisecond, 1000*time.Second)}, now)
	if !ok || off != time.Millisecond || bound != time.Millisecond+15*time.Millisecond {
		t.Errorf("got %v ± %v %v, want 1ms ± 16ms", off, bound, ok)
	}
	// The system peer first.
	off, _, ok = NTPTimeOf([]SourceState{up("near:123", StateCandidate, time.Millisecond, 0, 0),
		up("peer:123", StateSystemPeer, 2*time.Millisecond, 10*time.Millisecond, 0)}, now)
	if !ok || off != 2*time.Millisecond {
		t.Errorf("got %v %v, want the system peer's 2ms", off, ok)
	}
}
