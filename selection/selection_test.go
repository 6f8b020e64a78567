package selection

import (
	"errors"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func pps(at time.Duration) source.Sample {
	return source.Sample{Source: source.RefclockID, Kind: source.KindPPS, Local: t0.Add(at),
		Offset: time.Microsecond, Sigma: time.Microsecond, ErrorBound: 3 * time.Microsecond, RefID: ntp.RefIDPPS}
}

func upstream(id source.ID, at time.Duration, stratum uint8, rootDelay, delay time.Duration) source.Sample {
	return source.Sample{Source: id, Kind: source.KindNTP, Local: t0.Add(at), Delay: delay,
		ErrorBound: delay / 2, Stratum: stratum, RootDelay: rootDelay, RootDispersion: time.Millisecond,
		RefID: ntp.RefIDFromString("X"), Leap: ntp.LeapInsert}
}

// The refclock alone: every one of its samples is used, and the served
// identity is stratum 1 with its refid, no root delay.
func TestRefclockOnly(t *testing.T) {
	s, err := New(DefaultConfig(), source.RefclockID)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		res, err := s.Add(pps(time.Duration(k) * time.Second))
		if err != nil || !res.Use {
			t.Fatalf("sample %d: use %v err %v", k, res.Use, err)
		}
		id := res.Identity
		if id.Peer != source.RefclockID || id.Stratum != 1 || id.RefID != ntp.RefIDPPS || id.RootDelay != 0 || id.Kind != source.KindPPS {
			t.Fatalf("identity %+v", id)
		}
	}
	st := s.States()
	if len(st) != 1 || st[0].State != StateSystemPeer || st[0].Samples != 5 || st[0].Used != 5 || st[0].State.Tally() != '*' {
		t.Fatalf("states %+v", st)
	}
	// Silent beyond MaxAge: no system peer, the source unusable.
	res := s.Tick(t0.Add(DefaultRefclockHoldover + 5*time.Second))
	if res.Identity.Peer != "" || s.States()[0].State != StateUnusable {
		t.Fatalf("after silence: %+v %+v", res.Identity, s.States())
	}
}

// The refclock is preferred to any upstream while usable; without it the
// upstream of least root distance is the system peer and the identity
// accumulates its root delay and stratum.
func TestPeerChoiceAndIdentity(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StartupWait = 0
	s, err := New(cfg, source.RefclockID, "a:123", "b:123")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := s.Add(upstream("a:123", 0, 2, 10*time.Millisecond, 4*time.Millisecond))
	if !res.Use || res.Identity.Stratum != 3 || res.Identity.RootDelay != 14*time.Millisecond || res.Identity.Leap != ntp.LeapInsert {
		t.Fatalf("lone upstream: %+v", res)
	}
	// Clock-hop avoidance: a nearer upstream does not displace a
	// surviving one.
	res, _ = s.Add(upstream("b:123", time.Second, 1, 0, 2*time.Millisecond))
	if res.Use || res.Identity.Peer != "a:123" {
		t.Fatalf("the system peer hopped: %+v", res)
	}
	res, _ = s.Add(pps(2 * time.Second))
	if !res.Use || res.Identity.Peer != source.RefclockID || res.Identity.Stratum != 1 {
		t.Fatalf("refclock not preferred: %+v", res)
	}
	res, _ = s.Add(upstream("a:123", 3*time.Second, 2, 10*time.Millisecond, 4*time.Millisecond))
	if res.Use {
		t.Fatal("a non-peer's sample steered the clock")
	}
	want := []State{StateSystemPeer, StateCandidate, StateCandidate}
	for i, st := range s.States() {
		if st.State != want[i] {
			t.Errorf("%s: %v, want %v", st.ID, st.State, want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(Config{}, source.RefclockID); err == nil {
		t.Error("zero MaxAge accepted")
	} else if fe := (*FieldError)(nil); !errors.As(err, &fe) || fe.Field != "MaxAge" {
		t.Errorf("error %v does not name MaxAge", err)
	}
	if _, err := New(DefaultConfig(), "a", "a"); err == nil {
		t.Error("repeated source accepted")
	}
	s, _ := New(DefaultConfig(), source.RefclockID)
	if _, err := s.Add(upstream("stranger", 0, 1, 0, 0)); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("unknown source: %v", err)
	}
}

func ntpAt(id source.ID, at, off time.Duration) source.Sample {
	s := upstream(id, at, 1, 0, 400*time.Microsecond)
	s.Offset, s.Leap, s.Sigma = off, ntp.LeapNone, 50*time.Microsecond
	return s
}

func withUpstreams(t *testing.T, n int) (*Selector, []source.ID) {
	t.Helper()
	s, err := New(DefaultConfig(), source.RefclockID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []source.ID
	for i := range n {
		id := source.ID(string(rune('a'+i)) + ":123")
		if err := s.AddUpstream(id, false); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return s, ids
}

func state(s *Selector, id source.ID) State {
	for _, st := range s.States() {
		if st.ID == id {
			return st.State
		}
	}
	return StateUnusable
}

// A GPS one second off (spoofed, wrong second) against three agreeing
// upstreams is a falseticker; the clock follows the upstreams.
func TestGPSFalseticker(t *testing.T) {
	s, ids := withUpstreams(t, 3)
	for i, id := range ids {
		s.Add(ntpAt(id, time.Duration(i)*time.Millisecond, time.Duration(i*30)*time.Microsecond))
	}
	lie := pps(time.Second)
	lie.Offset = time.Second
	res, _ := s.Add(lie)
	if res.Use || state(s, source.RefclockID) != StateFalseticker {
		t.Fatalf("lying GPS used: %+v, state %v", res, state(s, source.RefclockID))
	}
	if res.Identity.Kind != source.KindNTP || res.Identity.Stratum != 2 {
		t.Fatalf("identity %+v", res.Identity)
	}
	// Truthful again: preferred again.
	res, _ = s.Add(pps(2 * time.Second))
	if !res.Use || res.Identity.Peer != source.RefclockID || res.Identity.Stratum != 1 {
		t.Fatalf("truthful GPS not used again: %+v", res)
	}
	// The clustering keeps MinSurvivors (3): one upstream may stand as an
	// outlier beside the GPS, none as a falseticker.
	for _, id := range ids {
		if st := state(s, id); st != StateCandidate && st != StateOutlier {
			t.Errorf("%s: %v", id, st)
		}
	}
}

// One of four upstreams 100 ms off is a falseticker; the GPS stays.
func TestUpstreamFalseticker(t *testing.T) {
	s, ids := withUpstreams(t, 4)
	for i, id := range ids {
		off := time.Duration(i*20) * time.Microsecond
		if i == 2 {
			off = 100 * time.Millisecond
		}
		s.Add(ntpAt(id, time.Duration(i)*time.Millisecond, off))
	}
	res, _ := s.Add(pps(time.Second))
	if !res.Use || state(s, ids[2]) != StateFalseticker || state(s, source.RefclockID) != StateSystemPeer {
		t.Fatalf("%+v: %v", res, s.States())
	}
}

// With upstreams configured the GPS's first time waits for one to vouch
// for it, at most StartupWait; with none reachable then, the GPS alone.
func TestStartupWaitsForUpstreams(t *testing.T) {
	s, ids := withUpstreams(t, 2)
	if res, _ := s.Add(pps(0)); res.Use {
		t.Fatal("GPS used before any upstream answered")
	}
	if res, _ := s.Add(ntpAt(ids[0], 2*time.Second, 0)); res.Identity.Peer != "" {
		t.Fatalf("set the clock with two of three sources heard: %+v", res.Identity)
	}
	res, _ := s.Add(ntpAt(ids[1], 3*time.Second, 10*time.Microsecond))
	if res.Identity.Peer != source.RefclockID {
		t.Fatalf("after two agreeing upstreams: %+v", res.Identity)
	}
	s2, _ := withUpstreams(t, 2)
	s2.Add(pps(0))
	if res, _ := s2.Add(pps(DefaultStartupWait + time.Second)); !res.Use {
		t.Fatal("GPS never used with every upstream silent")
	}
	// A single upstream disagreeing at start: no majority, no time set.
	s3, ids3 := withUpstreams(t, 1)
	s3.Add(ntpAt(ids3[0], 0, 0))
	lie := pps(time.Second)
	lie.Offset = time.Second
	if res, _ := s3.Add(lie); res.Use || s3.Alarm() == "" {
		t.Fatalf("a disputed GPS set the clock at start: %+v alarm %q", res, s3.Alarm())
	}
}

// The refclock holds over for RefclockHoldover, then the upstreams serve
// at their stratum + 1.
func TestRefclockLostFallsBack(t *testing.T) {
	s, ids := withUpstreams(t, 1)
	s.Add(ntpAt(ids[0], 0, 0))
	s.Add(pps(time.Second))
	if res := s.Tick(t0.Add(30 * time.Minute)); res.Identity.Peer != source.RefclockID {
		t.Fatalf("holdover: %+v", res.Identity)
	}
	res, _ := s.Add(ntpAt(ids[0], DefaultRefclockHoldover+2*time.Second, 0))
	if !res.Use || res.Identity.Stratum != 2 || res.Identity.Kind != source.KindNTP {
		t.Fatalf("after the holdover: %+v", res)
	}
}

// An upstream's clock filter hands over its minimum-delay sample, which may
// be a minute older than the GPS's latest: the selection must not run back
// at that sample's time, where the GPS's fresh sample would look younger
// than it is (a negative age shrinking its interval to nothing) and be
// marked a falseticker. Found by the upstream simulation (discsim U11).
func TestOldFilterSampleDoesNotRejectGPS(t *testing.T) {
	s, ids := withUpstreams(t, 4)
	for i, id := range ids {
		s.Add(ntpAt(id, time.Duration(10+i)*time.Second, time.Duration(i*100)*time.Microsecond))
	}
	if res, _ := s.Add(pps(100 * time.Second)); !res.Use {
		t.Fatalf("GPS not used: %v", s.States())
	}
	res, _ := s.Add(ntpAt(ids[0], 35*time.Second, 200*time.Microsecond))
	if res.Identity.Peer != source.RefclockID || state(s, source.RefclockID) != StateSystemPeer {
		t.Fatalf("an old filter sample unseated the GPS: %+v %v", res.Identity, s.States())
	}
	if res, _ := s.Add(pps(101 * time.Second)); !res.Use {
		t.Fatalf("GPS not used after the old sample: %v", s.States())
	}
}

// A step of the local clock moves the selection's own notion of now with
// the samples: after a step back by two hours the next GPS sample is fresh,
// not two hours beyond the last selection.
func TestSteppedMovesNow(t *testing.T) {
	s, ids := withUpstreams(t, 3)
	for i, id := range ids {
		s.Add(ntpAt(id, time.Duration(i)*time.Second, -2*time.Hour)) // the local clock 2 h ahead
	}
	first := pps(10 * time.Second)
	first.Offset = -2 * time.Hour
	s.Add(first)
	s.Stepped(-2 * time.Hour)
	if res, _ := s.Add(pps(11*time.Second - 2*time.Hour)); !res.Use {
		t.Fatalf("GPS not used after a step back: %+v %v", res, s.States())
	}
	for _, id := range ids {
		if st := state(s, id); st == StateUnusable {
			t.Errorf("%s unusable after the step", id)
		}
	}
}

// TestUnlearntSkewNoFalseAlarm: at start, before the discipline has learnt
// the frequency, the clock runs 30 ppm fast; the upstreams' samples are
// 2 s old and the GPS's, fresh, is 60 µs behind them. With the clock's
// skew unlearnt that is no disagreement; once it is learnt (skew 0), the
// same 60 µs over 2 s is, and a GPS 300 ms off is a falseticker either way.
func TestUnlearntSkewNoFalseAlarm(t *testing.T) {
	for _, tc := range []struct {
		learnt bool
		gps    time.Duration
		want   State
	}{
		{false, -60 * time.Microsecond, StateSystemPeer},
		{true, -60 * time.Microsecond, StateFalseticker},
		{false, -300 * time.Millisecond, StateFalseticker},
	} {
		cfg := DefaultConfig()
		cfg.StartupWait = 0
		s, err := New(cfg, source.RefclockID)
		if err != nil {
			t.Fatal(err)
		}
		s.SetFrequencyLearnt(tc.learnt)
		for _, id := range []source.ID{"a:123", "b:123", "c:123"} {
			if err := s.AddUpstream(id, false); err != nil {
				t.Fatal(err)
			}
			u := upstream(id, 0, 1, 0, 20*time.Microsecond) // root distance 25 µs
			u.RootDispersion = 5 * time.Microsecond
			u.Offset = 0
			if _, err := s.Add(u); err != nil {
				t.Fatal(err)
			}
		}
		g := pps(2 * time.Second)
		g.Offset = tc.gps
		if _, err := s.Add(g); err != nil {
			t.Fatal(err)
		}
		if got := s.States()[0].State; got != tc.want {
			t.Errorf("learnt %v, GPS %v: GPS %v, want %v (%+v)", tc.learnt, tc.gps, got, tc.want, s.States())
		}
	}
}

// TestSlewedShiftsStoredOffsets: upstream samples taken before the
// discipline slewed the clock back 20 ms compare with a GPS sample taken
// after only once the slew is accounted for.
func TestSlewedShiftsStoredOffsets(t *testing.T) {
	for _, slewed := range []time.Duration{0, -20 * time.Millisecond} {
		cfg := DefaultConfig()
		cfg.StartupWait = 0
		s, err := New(cfg, source.RefclockID)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []source.ID{"a:123", "b:123", "c:123"} {
			if err := s.AddUpstream(id, false); err != nil {
				t.Fatal(err)
			}
			u := upstream(id, 0, 1, 0, 20*time.Microsecond)
			u.Offset = -20 * time.Millisecond // local 20 ms ahead
			if _, err := s.Add(u); err != nil {
				t.Fatal(err)
			}
		}
		s.Slewed(slewed)
		g := pps(time.Second) // the clock has been slewed back: 1 µs off
		if _, err := s.Add(g); err != nil {
			t.Fatal(err)
		}
		want := StateSystemPeer
		if slewed == 0 {
			want = StateFalseticker
		}
		if got := s.States()[0].State; got != want {
			t.Errorf("slewed %v: GPS %v, want %v", slewed, got, want)
		}
		if slewed != 0 && s.States()[1].Last.Offset != 0 {
			t.Errorf("slewed %v: stored offset %v, want 0", slewed, s.States()[1].Last.Offset)
		}
	}
}

// TestRefclockOutvotedBeyondBound: upstreams over long paths have
// correctness intervals 50 ms wide, so a GPS 15 ms off lies inside them; a
// majority of them 15 ms away from it outvotes it at the 10 ms default
// bound (not with the bound off, not at 5 ms off, not with only one of
// three upstreams against it).
func TestRefclockOutvotedBeyondBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bound   time.Duration
		gps     time.Duration
		against int
		want    State
	}{
		{"15 ms off, all against", DefaultMaxRefclockDisagreement, 15 * time.Millisecond, 3, StateFalseticker},
		{"bound off", 0, 15 * time.Millisecond, 3, StateSystemPeer},
		{"5 ms off", DefaultMaxRefclockDisagreement, 5 * time.Millisecond, 3, StateSystemPeer},
		{"one against", DefaultMaxRefclockDisagreement, 15 * time.Millisecond, 1, StateSystemPeer},
		{"two of three against", DefaultMaxRefclockDisagreement, 15 * time.Millisecond, 2, StateFalseticker},
	} {
		cfg := DefaultConfig()
		cfg.StartupWait = 0
		cfg.MaxRefclockDisagreement = tc.bound
		s, err := New(cfg, source.RefclockID)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range []source.ID{"a:123", "b:123", "c:123"} {
			if err := s.AddUpstream(id, false); err != nil {
				t.Fatal(err)
			}
			u := upstream(id, 0, 2, 40*time.Millisecond, 40*time.Millisecond) // root distance 61 ms
			if i >= tc.against {
				u.Offset = tc.gps // agrees with the GPS
			}
			if _, err := s.Add(u); err != nil {
				t.Fatal(err)
			}
		}
		g := pps(time.Second)
		g.Offset = tc.gps
		if _, err := s.Add(g); err != nil {
			t.Fatal(err)
		}
		if got := s.States()[0].State; got != tc.want {
			t.Errorf("%s: GPS %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := (Config{MaxAge: 1, RefclockHoldover: 1, MinSurvivors: 1, MaxRefclockDisagreement: -1}).Validate(); err == nil {
		t.Error("a negative bound validated")
	}
}
