package refclock

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// t0 is true UTC at pulse 0 of every scenario.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// scenario describes a pulse train and its sentences over true seconds
// 0..n-1. The local clock reads true + localOff + drift*t.
type scenario struct {
	n        int
	localOff time.Duration
	driftPPM float64
	seed     uint64
	jitter   time.Duration // sigma of the edge timestamp noise
	// noPulse drops pulse k entirely; seqCounts makes the dropped pulse
	// still advance the sequence number (the source saw but lost it).
	noPulse   func(k int) bool
	seqCounts bool
	noMsg     func(k int) bool
	msgDelay  func(k int) time.Duration                // default 200 ms
	label     func(k int) time.Time                    // default t0 + k s
	step      func(k int) time.Duration                // local clock step applied just before pulse k
	msgHook   func(k int, m *TimeMsg)                  // last edits to the message
	edgeHook  func(k int, e *pps.Edge)                 // last edits to the edge
	onEvent   func(ev event, s source.Sample, ok bool) // debugging hook
}

type event struct {
	at   time.Time // local time of arrival, for ordering
	edge *pps.Edge
	msg  *TimeMsg
}

// run feeds the scenario to l and returns the samples with the true offset
// (reference - local) each should equal.
func (sc scenario) run(t *testing.T, l *Locker) (samples []source.Sample, want []time.Duration) {
	t.Helper()
	rng := rand.New(rand.NewPCG(sc.seed, 7))
	var step time.Duration
	local := func(tt time.Duration) time.Duration {
		return tt + sc.localOff + step + time.Duration(sc.driftPPM*float64(tt)/1e6)
	}
	var evs []event
	var seq uint64
	type truth struct {
		local time.Time
		off   time.Duration
	}
	var truths []truth // per edge, in order
	for k := 0; k < sc.n; k++ {
		tt := time.Duration(k) * time.Second
		if sc.step != nil {
			step += sc.step(k)
		}
		if sc.noPulse == nil || !sc.noPulse(k) {
			seq++
			lt := local(tt) + time.Duration(rng.NormFloat64()*float64(sc.jitter))
			e := pps.Edge{Time: t0.Add(lt), Seq: seq, Assert: true}
			if sc.edgeHook != nil {
				sc.edgeHook(k, &e)
			}
			truths = append(truths, truth{e.Time, tt - local(tt)}) // reference t0+tt minus local t0+local(tt)
			evs = append(evs, event{at: e.Time, edge: &e})
		} else if sc.seqCounts {
			seq++
		}
		if sc.noMsg == nil || !sc.noMsg(k) {
			d := 200 * time.Millisecond
			if sc.msgDelay != nil {
				d = sc.msgDelay(k)
			}
			lab := t0.Add(tt)
			if sc.label != nil {
				lab = sc.label(k)
			}
			m := TimeMsg{UTC: lab, Received: t0.Add(local(tt + d)), Valid: true, Fix: 3, Sentence: "RMC"}
			if sc.msgHook != nil {
				sc.msgHook(k, &m)
			}
			evs = append(evs, event{at: m.Received, msg: &m})
		}
	}
	nEdges := 0
	for _, ev := range evs {
		var s source.Sample
		var ok bool
		if ev.edge != nil {
			s, ok = l.AddEdge(*ev.edge)
			nEdges++
		} else {
			s, ok = l.AddTime(*ev.msg)
		}
		if sc.onEvent != nil {
			sc.onEvent(ev, s, ok)
		}
		if !ok {
			continue
		}
		samples = append(samples, s)
		w := s.Offset // GPS samples are checked by the caller
		for i := nEdges - 1; i >= 0 && s.RefID == ntp.RefIDPPS; i-- {
			if truths[i].local.Equal(s.Local) {
				w = truths[i].off
				break
			}
		}
		want = append(want, w)
	}
	return samples, want
}

// checkPPS fails if any PPS sample is further than tol from the truth.
func checkPPS(t *testing.T, samples []source.Sample, want []time.Duration, tol time.Duration) {
	t.Helper()
	for i, s := range samples {
		if s.RefID != ntp.RefIDPPS {
			continue
		}
		if d := (s.Offset - want[i]).Abs(); d > tol {
			t.Errorf("sample %d at %v: offset %v, want %v (±%v)", i, s.Local, s.Offset, want[i], tol)
		}
	}
}

func TestLockerSign(t *testing.T) {
	// A local clock 1 ms slow (behind) gives Offset +1 ms.
	l := NewLocker(LockerConfig{})
	sc := scenario{n: 5, localOff: -time.Millisecond}
	samples, _ := sc.run(t, l)
	if len(samples) != 4 {
		t.Fatalf("got %d samples, want 4 (first pulse only starts the lock)", len(samples))
	}
	for _, s := range samples {
		if s.Offset != time.Millisecond || s.RefID != ntp.RefIDPPS || s.Sigma != DefaultPPSErr {
			t.Errorf("sample %+v: want Offset +1ms RefID PPS Err %v", s, DefaultPPSErr)
		}
	}
	if !l.Locked() {
		t.Error("not locked")
	}
}

func TestLockerScenarios(t *testing.T) {
	const n = 200
	tests := []struct {
		name string
		sc   scenario
		cfg  LockerConfig
		tol  time.Duration
		// minimum number of PPS samples, and exact counter expectations
		minSamples int
		check      func(t *testing.T, st LockerStats)
	}{
		{
			name: "clean, clock 0.1 s ahead drifting 30 ppm, 1 µs jitter",
			sc:   scenario{n: n, localOff: 100 * time.Millisecond, driftPPM: 30, jitter: time.Microsecond, seed: 1},
			tol:  6 * time.Microsecond, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.Disagree+st.Stale+st.Unnumbered+st.Coasted != 0 {
					t.Errorf("unexpected rejections %+v", st)
				}
			},
		},
		{
			name: "S9: NMEA names k+1 for pulse k during 30 s",
			sc: scenario{n: n, seed: 2, jitter: time.Microsecond, label: func(k int) time.Time {
				if k >= 50 && k < 80 {
					return t0.Add(time.Duration(k+1) * time.Second)
				}
				return t0.Add(time.Duration(k) * time.Second)
			}},
			tol: 6 * time.Microsecond, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.Disagree != 30 || st.Renumbered != 0 || st.Coasted != 30 {
					t.Errorf("want 30 disagreements coasted, no renumbering: %+v", st)
				}
			},
		},
		{
			name: "S9 from the first sentence: wrong lock is replaced after RelockAfter",
			sc: scenario{n: n, seed: 3, label: func(k int) time.Time {
				if k < 2 {
					return t0.Add(time.Duration(k+1) * time.Second)
				}
				return t0.Add(time.Duration(k) * time.Second)
			}},
			// The first 60 s follow the wrong lock; check only the tail.
			tol: -1, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.Renumbered != 1 {
					t.Errorf("want one renumbering: %+v", st)
				}
			},
		},
		{
			name: "S8: 10% of pulses missing, sequence skips them",
			sc: scenario{n: n, seed: 4, jitter: time.Microsecond, seqCounts: true,
				noPulse: func(k int) bool { return k%10 == 5 }},
			tol: 6 * time.Microsecond, minSamples: n - n/10 - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.LockLost != 0 || st.Disagree != 0 {
					t.Errorf("lost lock: %+v", st)
				}
			},
		},
		{
			name: "S8: 10% of pulses missing, sequence contiguous",
			sc: scenario{n: n, seed: 5, jitter: time.Microsecond,
				noPulse: func(k int) bool { return k%10 == 5 }},
			tol: 6 * time.Microsecond, minSamples: n - n/10 - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.LockLost != 0 || st.Disagree != 0 {
					t.Errorf("lost lock: %+v", st)
				}
			},
		},
		{
			name: "S8 and S9 together: missing pulses (sequence contiguous) during a 30 s wrong label",
			sc: scenario{n: n, seed: 16, jitter: time.Microsecond, noPulse: func(k int) bool { return k%10 == 5 },
				label: func(k int) time.Time {
					if k >= 50 && k < 80 {
						return t0.Add(time.Duration(k+1) * time.Second)
					}
					return t0.Add(time.Duration(k) * time.Second)
				}},
			tol: 6 * time.Microsecond, minSamples: n - n/10 - 1 - 30,
			check: func(t *testing.T, st LockerStats) {
				if st.LockLost != 0 || st.Renumbered != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "10% of sentences missing: pulses coast",
			sc:   scenario{n: n, seed: 6, jitter: time.Microsecond, noMsg: func(k int) bool { return k%10 == 5 }},
			tol:  6 * time.Microsecond, minSamples: n - 2,
			check: func(t *testing.T, st LockerStats) {
				if st.Coasted != n/10 {
					t.Errorf("want %d coasted: %+v", n/10, st)
				}
			},
		},
		{
			name: "late sentences (800 ms) are stale, pulses coast",
			sc: scenario{n: n, seed: 7, msgDelay: func(k int) time.Duration {
				if k%4 == 3 {
					return 800 * time.Millisecond
				}
				return 300 * time.Millisecond
			}},
			tol: 0, minSamples: n - 2,
			check: func(t *testing.T, st LockerStats) {
				// The last pulse waits for a next edge to coast.
				if st.Stale != n/4 || st.Coasted != n/4-1 {
					t.Errorf("want %d stale and coasted: %+v", n/4, st)
				}
			},
		},
		{
			name: "clock stepped by exactly -1 s at pulse 100 (sequence present)",
			sc: scenario{n: n, seed: 8, localOff: time.Second, step: func(k int) time.Duration {
				if k == 100 {
					return -time.Second
				}
				return 0
			}},
			tol: 0, minSamples: n - 1,
		},
		{
			name: "clock stepped by 0.3 s at pulse 100",
			sc: scenario{n: n, seed: 9, localOff: 300 * time.Millisecond, step: func(k int) time.Duration {
				if k == 100 {
					return -300 * time.Millisecond
				}
				return 0
			}},
			tol: 0, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.Steps != 1 || st.LockLost != 0 || st.Unnumbered != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "a pulse whose sentence is missing is not coasted across a clock step",
			sc: scenario{n: n, seed: 15, localOff: 300 * time.Millisecond, noMsg: func(k int) bool { return k == 99 },
				step: func(k int) time.Duration {
					if k == 100 {
						return -300 * time.Millisecond
					}
					return 0
				}},
			tol: 0, minSamples: n - 2,
			check: func(t *testing.T, st LockerStats) {
				if st.Unnumbered != 1 || st.Coasted != 0 || st.PPSSamples != n-2 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "double fault: a step right after a pulse missing uncounted; no wrong sample, renumbered after RelockAfter",
			sc: scenario{n: n, seed: 17, localOff: 200 * time.Millisecond, noPulse: func(k int) bool { return k == 99 },
				step: func(k int) time.Duration {
					if k == 100 {
						return -200 * time.Millisecond
					}
					return 0
				}},
			tol: 0, minSamples: n - 2 - 61,
			check: func(t *testing.T, st LockerStats) {
				if st.Renumbered != 1 || st.Disagree != 61 || st.LockLost != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "user-space GPIO: 20 µs jitter, every 10th stamp 1-5 ms late; numbering holds",
			sc: scenario{n: n, seed: 18, jitter: 20 * time.Microsecond, edgeHook: func(k int, e *pps.Edge) {
				if k%10 == 3 {
					e.Time = e.Time.Add(time.Duration(1+k%5) * time.Millisecond)
				}
			}},
			tol: 6 * time.Millisecond, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.LockLost != 0 || st.Disagree != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "edge delay 150 ns raises offset",
			sc:   scenario{n: 10},
			cfg:  LockerConfig{EdgeDelay: 150},
			tol:  0, minSamples: 9,
		},
		{
			name: "invalid sentences number nothing",
			sc:   scenario{n: 20, msgHook: func(k int, m *TimeMsg) { m.Valid = false }},
			tol:  0, minSamples: 0,
			check: func(t *testing.T, st LockerStats) {
				if st.Invalid != 20 || st.PPSSamples != 0 || st.Unnumbered != 20-1 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "pulses without any NMEA give no samples",
			sc:   scenario{n: 20, noMsg: func(int) bool { return true }},
			tol:  0, minSamples: 0,
		},
		{
			name: "S10: pulses without NMEA for the first 60 s, then locks",
			sc:   scenario{n: n, seed: 12, jitter: time.Microsecond, noMsg: func(k int) bool { return k < 60 }},
			tol:  6 * time.Microsecond, minSamples: n - 60 - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.Unnumbered != 60 || st.PPSSamples != n-61 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "S11: cold start 0.5 s off, clock stepped back 0.5 s at pulse 5",
			sc: scenario{n: n, seed: 13, jitter: time.Microsecond, localOff: 500 * time.Millisecond, step: func(k int) time.Duration {
				if k == 5 {
					return -500 * time.Millisecond
				}
				return 0
			}},
			tol: 6 * time.Microsecond, minSamples: n - 1,
			check: func(t *testing.T, st LockerStats) {
				if st.LockLost != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "S11 the other way: 0.5 s slow, stepped forward at pulse 5",
			sc: scenario{n: n, seed: 14, jitter: time.Microsecond, localOff: -500 * time.Millisecond, step: func(k int) time.Duration {
				if k == 5 {
					return 500 * time.Millisecond
				}
				return 0
			}},
			tol: 6 * time.Microsecond, minSamples: n - 1,
		},
		{
			name: "NMEA stops for good at pulse 50: pulses coast MaxCoast (120 s), then no samples",
			sc:   scenario{n: 300, seed: 11, noMsg: func(k int) bool { return k >= 50 }},
			tol:  0, minSamples: 49 + 119,
			check: func(t *testing.T, st LockerStats) {
				if st.PPSSamples != 49+120 || st.LockLost != 1 || st.Unnumbered != 300-50-120-1 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			name: "sources without sequence numbers",
			sc: scenario{n: n, seed: 10, jitter: 20 * time.Microsecond, noPulse: func(k int) bool { return k%7 == 3 },
				edgeHook: func(k int, e *pps.Edge) { e.Seq = 0 }},
			tol: 120 * time.Microsecond, minSamples: n - n/7 - 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLocker(tc.cfg)
			samples, want := tc.sc.run(t, l)
			for i := range want {
				want[i] += tc.cfg.EdgeDelay
			}
			if tc.tol >= 0 {
				checkPPS(t, samples, want, tc.tol)
			} else if len(samples) > 80 {
				checkPPS(t, samples[len(samples)-80:], want[len(want)-80:], 0)
			}
			pps := 0
			for _, s := range samples {
				if s.RefID == ntp.RefIDPPS {
					pps++
				}
			}
			if pps < tc.minSamples {
				t.Errorf("%d PPS samples, want >= %d; stats %+v", pps, tc.minSamples, l.Stats())
			}
			if tc.check != nil {
				tc.check(t, l.Stats())
			}
		})
	}
}

func TestLockerRenumbersAfterRelockAfter(t *testing.T) {
	// The receiver's numbering moves by +1 s for good at pulse 50: rejected
	// for RelockAfter (60 s), then adopted.
	l := NewLocker(LockerConfig{})
	sc := scenario{n: 200, label: func(k int) time.Time {
		if k >= 50 {
			return t0.Add(time.Duration(k+1) * time.Second)
		}
		return t0.Add(time.Duration(k) * time.Second)
	}}
	samples, _ := sc.run(t, l)
	for i, s := range samples {
		k := int(s.Local.Sub(t0).Round(time.Second) / time.Second)
		want := time.Duration(0)
		if k >= 110 {
			want = time.Second
		}
		if s.Offset != want {
			t.Fatalf("sample %d (pulse %d): offset %v, want %v", i, k, s.Offset, want)
		}
	}
	if st := l.Stats(); st.Renumbered != 1 || st.Disagree != 61 {
		t.Errorf("%+v", st)
	}
}

func TestLockerLeapSeconds(t *testing.T) {
	// Pulses every true second around a leap. The local clock is POSIX:
	// the kernel repeats 23:59:59 for an inserted second and skips it for a
	// deleted one, so local readings and labels jump together and every
	// pulse's offset stays 0.
	tests := []struct {
		name   string
		start  time.Time
		insert bool
		// kernelApplies: the local clock takes the leap too; otherwise it
		// runs on and every pulse after the leap shows the 1 s error.
		kernelApplies bool
	}{
		{"inserted, kernel applies", time.Date(2016, 12, 31, 23, 59, 50, 0, time.UTC), true, true},
		{"inserted, kernel unaware", time.Date(2016, 12, 31, 23, 59, 50, 0, time.UTC), true, false},
		{"deleted, kernel applies", time.Date(2027, 6, 30, 23, 59, 50, 0, time.UTC), false, true},
		{"deleted, kernel unaware", time.Date(2027, 6, 30, 23, 59, 50, 0, time.UTC), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLocker(LockerConfig{})
			leapK := 10 // pulse index of 23:59:60 (inserted) ...
			if !tc.insert {
				leapK = 9 // ... or of 00:00:00 after 23:59:58 (deleted)
			}
			for k := 0; k < 20; k++ {
				posix := tc.start.Add(time.Duration(k) * time.Second) // POSIX label of pulse k before the leap
				leapFlag := false
				if k >= leapK {
					if tc.insert {
						posix = posix.Add(-time.Second)
					} else {
						posix = posix.Add(time.Second)
					}
				}
				if tc.insert && k == leapK {
					leapFlag = true
				}
				local := posix
				if !tc.kernelApplies {
					local = tc.start.Add(time.Duration(k) * time.Second)
				}
				if s, ok := l.AddEdge(pps.Edge{Time: local, Seq: uint64(k + 1), Assert: true}); ok {
					t.Fatalf("pulse %d: unexpected coast sample %+v", k, s)
				}
				s, ok := l.AddTime(TimeMsg{UTC: posix, Received: local.Add(200 * time.Millisecond), Valid: true, LeapSecond: leapFlag})
				if k == 0 {
					continue
				}
				want := posix.Sub(local)
				if !ok || s.Offset != want {
					t.Fatalf("pulse %d: sample %+v %v, want offset %v; %+v", k, s, ok, want, l.Stats())
				}
			}
			if st := l.Stats(); st.Disagree != 0 || st.LockLost != 0 || st.Coasted != 0 {
				t.Errorf("%+v", st)
			}
		})
	}
}

func TestLockerNMEAOnly(t *testing.T) {
	l := NewLocker(LockerConfig{NMEADelay: 250 * time.Millisecond})
	// Local clock 3 ms fast; sentences 250 ms after the second.
	for k := 0; k < 5; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		rx := utc.Add(253 * time.Millisecond)
		s, ok := l.AddTime(TimeMsg{UTC: utc, Received: rx, Valid: true})
		if !ok || s.RefID != ntp.RefIDGPS || s.Offset != -3*time.Millisecond || !s.Local.Equal(rx) || s.Sigma != 10*time.Millisecond {
			t.Fatalf("second %d: %+v %v", k, s, ok)
		}
	}
}

func TestLockerFallsBackToNMEAAndLearnsDelay(t *testing.T) {
	// Pulses for 30 s with sentences 180 ms after them, then pulses stop:
	// GPS samples use the learned 180 ms, not the configured 300 ms.
	l := NewLocker(LockerConfig{NMEADelay: 300 * time.Millisecond})
	for k := 0; k < 40; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		if k < 30 {
			l.AddEdge(pps.Edge{Time: utc, Seq: uint64(k + 1), Assert: true})
		}
		s, ok := l.AddTime(TimeMsg{UTC: utc, Received: utc.Add(180 * time.Millisecond), Valid: true})
		switch {
		case k >= 1 && k < 30:
			if !ok || s.RefID != ntp.RefIDPPS {
				t.Fatalf("second %d: want PPS sample, got %+v %v", k, s, ok)
			}
		case k >= 33:
			if !ok || s.RefID != ntp.RefIDGPS || s.Offset != 0 {
				t.Fatalf("second %d: want GPS sample with offset 0, got %+v %v", k, s, ok)
			}
		}
	}
	if l.Locked() {
		t.Error("still locked without pulses")
	}
	if st := l.Stats(); st.LockGained != 1 || st.LockLost != 1 {
		t.Errorf("%+v", st)
	}
}

func TestLockerClearEdgesIgnored(t *testing.T) {
	l := NewLocker(LockerConfig{})
	for k := 0; k < 5; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		l.AddEdge(pps.Edge{Time: utc, Seq: uint64(k + 1), Assert: true})
		l.AddEdge(pps.Edge{Time: utc.Add(100 * time.Millisecond), Seq: uint64(k + 1), Assert: false})
		l.AddTime(TimeMsg{UTC: utc, Received: utc.Add(200 * time.Millisecond), Valid: true})
	}
	if st := l.Stats(); st.ClearEdges != 5 || st.PPSSamples != 4 {
		t.Errorf("%+v", st)
	}
}

func TestLockerConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  LockerConfig
		ok   bool
	}{
		{"zero is defaults", LockerConfig{}, true},
		{"defaults", DefaultLockerConfig(), true},
		{"max delay 1 s", LockerConfig{MaxNMEADelay: time.Second}, false},
		{"delay above max", LockerConfig{NMEADelay: 500 * time.Millisecond, MaxNMEADelay: 400 * time.Millisecond}, false},
		{"negative lock count", LockerConfig{LockCount: -1}, false},
		{"grid tolerance half a second", LockerConfig{GridTolerance: 500 * time.Millisecond}, false},
		{"edge delay 1 s", LockerConfig{EdgeDelay: time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// FuzzLocker feeds arbitrary edge and message sequences: the Locker must not
// panic, PPS samples come only for pulses it was given, while locked.
func FuzzLocker(f *testing.F) {
	f.Add([]byte{0, 10, 1, 12, 0, 10, 1, 12, 0, 10, 1, 12})
	f.Add([]byte{0, 0, 0, 0, 1, 255, 1, 3, 0, 200, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		l := NewLocker(LockerConfig{})
		local := t0
		utc := t0
		edges := map[time.Time]bool{}
		var seq uint64
		for i := 0; i+1 < len(ops); i += 2 {
			arg := time.Duration(ops[i+1])
			var s source.Sample
			var ok bool
			switch ops[i] % 4 {
			case 0: // an edge arg*10 ms after the previous event
				local = local.Add(arg * 10 * time.Millisecond)
				seq += uint64(ops[i+1]%3) + 1
				edges[local] = true
				s, ok = l.AddEdge(pps.Edge{Time: local, Seq: seq, Assert: true})
			case 1: // a sentence arg*4 ms later naming the next second
				local = local.Add(arg * 4 * time.Millisecond)
				utc = utc.Add(time.Second)
				s, ok = l.AddTime(TimeMsg{UTC: utc, Received: local, Valid: ops[i+1] != 7, LeapSecond: ops[i+1] == 60})
			case 2: // a sentence naming a second arg-128 away
				local = local.Add(100 * time.Millisecond)
				s, ok = l.AddTime(TimeMsg{UTC: utc.Add((arg - 128) * time.Second), Received: local, Valid: true})
			case 3: // the clock steps by arg-128 x 10 ms
				local = local.Add((arg - 128) * 10 * time.Millisecond)
			}
			if ok && s.RefID == ntp.RefIDPPS && !edges[s.Local] {
				t.Fatalf("PPS sample for a pulse never given: %+v", s)
			}
		}
	})
}

// TestLockerRandomFaults mixes the faults at random (fixed seeds): missing
// pulses (sequence counting them or not), missing, late and invalid
// sentences, wrong labels for under RelockAfter, small clock steps. Once
// locked on a clean start, no PPS sample may carry a wrong second.
func TestLockerRandomFaults(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		sc, desc := randomFaults(seed)
		const n = 400
		l := NewLocker(LockerConfig{})
		samples, want := sc.run(t, l)
		bad := 0
		for i, s := range samples {
			if s.RefID == ntp.RefIDPPS && (s.Offset-want[i]).Abs() > 20*time.Microsecond {
				bad++
			}
		}
		st := l.Stats()
		if bad > 0 || st.Renumbered != 0 {
			t.Errorf("seed %d: %d wrong samples of %d; %s; %+v", seed, bad, len(samples), desc, st)
		}
		if len(samples) < n/2 {
			t.Errorf("seed %d: only %d samples; %s; %+v", seed, len(samples), desc, st)
		}
	}
}

func randomFaults(seed uint64) (scenario, string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	const n = 400
	noPulse := make([]bool, n)
	noMsg := make([]bool, n)
	late := make([]bool, n)
	invalid := make([]bool, n)
	wrong := make([]int, n)
	steps := make([]time.Duration, n)
	pMiss, pNoMsg, pLate := rng.Float64()*0.2, rng.Float64()*0.2, rng.Float64()*0.1
	// The clock stays within 0.4 s, as a servo keeps it: steps of the
	// size a servo makes, never whole seconds.
	localOff := time.Duration((rng.Float64() - 0.5) * float64(800*time.Millisecond))
	cum := localOff
	for k := 10; k < n; k++ {
		noPulse[k] = rng.Float64() < pMiss
		noMsg[k] = rng.Float64() < pNoMsg
		late[k] = rng.Float64() < pLate
		invalid[k] = rng.Float64() < 0.02
		if rng.Float64() < 0.01 {
			steps[k] = time.Duration(rng.NormFloat64() * float64(150*time.Millisecond))
			if (cum + steps[k]).Abs() > 400*time.Millisecond {
				steps[k] = -steps[k]
			}
			cum += steps[k]
			// A step right after an uncounted missing pulse is a double
			// fault (the sequence and time both misread); tested apart.
			noPulse[k], noPulse[k-1] = false, false
		}
	}
	// One burst of wrong labels, 5-40 s, by -2..+2 s.
	from := 20 + rng.IntN(300)
	dur := 5 + rng.IntN(36)
	off := []int{-2, -1, 1, 2}[rng.IntN(4)]
	for k := from; k < from+dur && k < n; k++ {
		wrong[k] = off
	}
	sc := scenario{n: n, seed: seed, jitter: 2 * time.Microsecond, seqCounts: seed%2 == 0,
		localOff: localOff,
		noPulse:  func(k int) bool { return noPulse[k] },
		noMsg:    func(k int) bool { return noMsg[k] },
		msgDelay: func(k int) time.Duration {
			if late[k] {
				return 900 * time.Millisecond
			}
			return 150*time.Millisecond + time.Duration(k%7)*50*time.Millisecond
		},
		label:   func(k int) time.Time { return t0.Add(time.Duration(k+wrong[k]) * time.Second) },
		msgHook: func(k int, m *TimeMsg) { m.Valid = !invalid[k] },
		step:    func(k int) time.Duration { return steps[k] },
	}
	if seed%3 == 0 {
		sc.edgeHook = func(k int, e *pps.Edge) { e.Seq = 0 } // a source without sequence numbers
	}
	var stepAt []string
	for k, d := range steps {
		if d != 0 {
			stepAt = append(stepAt, fmt.Sprintf("%d:%v", k, d))
		}
	}
	return sc, fmt.Sprintf("seq %v, miss %.2f (seq counts %v) nomsg %.2f late %.2f, wrong %+d s at %d for %d s, steps %v",
		seed%3 != 0, pMiss, sc.seqCounts, pNoMsg, pLate, off, from, dur, stepAt)
}
