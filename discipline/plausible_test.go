package discipline

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

func plausibleConfig() Config {
	cfg := DefaultConfig()
	cfg.Plausible = source.NewTimeBounds(0, day0().Add(-24*time.Hour))
	return cfg
}

// A receiver claiming 2038 or 2080 from start-up is refused with an error
// naming its date: the clock is never stepped and never served as synced.
func TestImplausibleReceiverDateNeverStepped(t *testing.T) {
	for _, claim := range []time.Time{
		time.Date(2038, 1, 19, 0, 0, 0, 0, time.UTC),
		time.Date(2080, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2007, 4, 17, 0, 0, 0, 0, time.UTC), // one GPS era back
	} {
		r := newRig(t, plausibleConfig(), SimClockConfig{FreqPPM: 10}, day0(), nil)
		r.lie = claim.Sub(day0())
		r.run(120, nil)
		if n := r.steps(); n != 0 {
			t.Errorf("%v: %d steps", claim, n)
		}
		if st := r.loop.State(); st.Synced || st.Stratum != 16 || !strings.Contains(st.Alarm, claim.Format("2006-01-02")) {
			t.Errorf("%v: served synced %v stratum %d alarm %q", claim, st.Synced, st.Stratum, st.Alarm)
		}
		var refused int
		for _, e := range r.events {
			var ie *source.ImplausibleError
			if errors.As(e.Refused, &ie) {
				refused++
			}
		}
		if refused != 120 || r.loop.Refused() != 120 {
			t.Errorf("%v: %d of 120 samples refused (%d counted)", claim, refused, r.loop.Refused())
		}
		if math.Abs(r.offset()) > 0.01 {
			t.Errorf("%v: the clock moved %v s", claim, r.offset())
		}
	}
}

// A Pi without an RTC boots near 1970: the first step from there to a
// plausible GPS time stays allowed.
func TestFirstStepFrom1970Allowed(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	r := newRig(t, plausibleConfig(), SimClockConfig{InitialOffset: epoch.Sub(day0()), FreqPPM: 10}, day0(), nil)
	r.run(60, nil)
	if n := r.steps(); n != 1 {
		t.Fatalf("%d steps, want 1", n)
	}
	if !r.loop.State().Synced || math.Abs(r.offset()) > 10e-6 {
		t.Fatalf("not synced after the first step: offset %v s", r.offset())
	}
}

// Once synchronised, a reference that moves by more than MaxStep (a spoof,
// a wrong date adopted by the receiver) is refused and alarmed: the clock
// is neither stepped nor slewed toward it, for longer than the servo's
// re-acquisition time, and the served state stops claiming sync once the
// hold-over runs out.
func TestStepBeyondLimitAfterLockRefused(t *testing.T) {
	cfg := plausibleConfig()
	cfg.UnsyncAfter = 5 * time.Minute
	r := newRig(t, cfg, SimClockConfig{FreqPPM: 10}, day0(), nil)
	r.run(60, nil)
	if !r.loop.State().Synced {
		t.Fatal("not locked")
	}
	r.events = nil
	r.lie = 48 * time.Hour
	r.run(int((cfg.ReacquireAfter+2*time.Minute)/time.Second), nil)
	if n := r.steps(); n != 0 {
		t.Errorf("%d steps toward a reference 48 h off", n)
	}
	if math.Abs(r.offset()) > 1e-3 {
		t.Errorf("slewed toward the lie: %v s off", r.offset())
	}
	var se *StepRefusedError
	if len(r.events) == 0 || !errors.As(r.events[0].Refused, &se) || se.Offset < 47*time.Hour {
		t.Fatalf("first event %+v", r.events[0])
	}
	if st := r.loop.State(); st.Synced || st.Alarm == "" {
		t.Errorf("after the hold-over: synced %v, alarm %q", st.Synced, st.Alarm)
	}
	// The truth back: used again without a step.
	r.lie = 0
	r.run(60, nil)
	if n := r.steps(); n != 0 || !r.loop.State().Synced || math.Abs(r.offset()) > 10e-6 {
		t.Errorf("after the lie ended: %d steps, synced %v, offset %v s", n, r.loop.State().Synced, r.offset())
	}
}
