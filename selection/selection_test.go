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
	res := s.Tick(t0.Add(DefaultMaxAge + 5*time.Second))
	if res.Identity.Peer != "" || s.States()[0].State != StateUnusable {
		t.Fatalf("after silence: %+v %+v", res.Identity, s.States())
	}
}

// The refclock is preferred to any upstream while usable; without it the
// upstream of least root distance is the system peer and the identity
// accumulates its root delay and stratum.
func TestPeerChoiceAndIdentity(t *testing.T) {
	s, err := New(DefaultConfig(), source.RefclockID, "a:123", "b:123")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := s.Add(upstream("a:123", 0, 2, 10*time.Millisecond, 4*time.Millisecond))
	if !res.Use || res.Identity.Stratum != 3 || res.Identity.RootDelay != 14*time.Millisecond || res.Identity.Leap != ntp.LeapInsert {
		t.Fatalf("lone upstream: %+v", res)
	}
	res, _ = s.Add(upstream("b:123", time.Second, 1, 0, 2*time.Millisecond))
	if !res.Use || res.Identity.Peer != "b:123" || res.Identity.Stratum != 2 {
		t.Fatalf("nearer upstream not chosen: %+v", res)
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
