package refclock

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// TestAddEdgeFromNTP: a pulse is numbered with the UTC second its NTP time
// names, only when NTP knows the time well enough to name it.
func TestAddEdgeFromNTP(t *testing.T) {
	const ahead = 200 * time.Millisecond // local clock - true
	edge := func(k int) pps.Edge {
		return pps.Edge{Time: t0.Add(time.Duration(k) * time.Second).Add(ahead), Seq: uint64(k + 1), Assert: true}
	}
	for _, tc := range []struct {
		name string
		ntp  NTPTime
		have bool
		ok   bool
	}{
		{"exact", NTPTime{Offset: -ahead, ErrorBound: time.Millisecond}, true, true},
		{"NTP 250 ms off, bound 90 ms", NTPTime{Offset: -ahead + 250*time.Millisecond, ErrorBound: 90 * time.Millisecond}, true, true},
		{"NTP 350 ms off, bound 90 ms", NTPTime{Offset: -ahead + 350*time.Millisecond, ErrorBound: 90 * time.Millisecond}, true, false},
		{"NTP 450 ms off", NTPTime{Offset: -ahead - 450*time.Millisecond, ErrorBound: time.Millisecond}, true, false},
		{"bound 150 ms", NTPTime{Offset: -ahead, ErrorBound: 150 * time.Millisecond}, true, false},
		{"bound 0.5 s", NTPTime{Offset: -ahead, ErrorBound: 500 * time.Millisecond}, true, false},
		{"no NTP time", NTPTime{}, false, false},
	} {
		l := NewLocker(LockerConfig{EdgeDelay: 2 * time.Microsecond})
		s, ok := l.AddEdgeFromNTP(edge(3), tc.ntp, tc.have)
		if ok != tc.ok {
			t.Errorf("%s: numbered %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		st := l.Stats()
		if st.Edges != 1 || st.NTPNumbered+st.NTPUnsure != 1 {
			t.Errorf("%s: stats %+v", tc.name, st)
		}
		if !ok {
			continue
		}
		if want := -ahead + 2*time.Microsecond; s.Offset != want || s.Kind != source.KindPPS || s.RefID.String() != "PPS" ||
			s.Source != source.RefclockID || !s.Local.Equal(edge(3).Time) {
			t.Errorf("%s: sample %+v, want offset %v, PPS", tc.name, s, want)
		}
	}
	l := NewLocker(LockerConfig{})
	if _, ok := l.AddEdgeFromNTP(pps.Edge{Time: t0}, NTPTime{}, true); ok || l.Stats().ClearEdges != 1 {
		t.Errorf("a clear edge was numbered: %+v", l.Stats())
	}
}

// TestPipelineFromNTP: a minute of jittery pulses on a drifting clock,
// numbered from an NTP time with 20 ms of noise, gives a PPS sample per
// pulse with the pulse's own (microsecond) error, for several seeds.
func TestPipelineFromNTP(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		p := NewPipeline(LockerConfig{}, DefaultFilterConfig(), false)
		n := 0
		for k := 0; k < 60; k++ {
			tt := time.Duration(k) * time.Second
			localOff := 300*time.Millisecond + time.Duration(20e-6*float64(tt)) // 20 ppm fast
			jit := time.Duration(rng.NormFloat64() * float64(time.Microsecond))
			e := pps.Edge{Time: t0.Add(tt + localOff + jit), Seq: uint64(k + 1), Assert: true}
			ntpOff := -localOff + time.Duration(rng.NormFloat64()*float64(20*time.Millisecond))
			s, ok := p.AddEdgeFromNTP(e, NTPTime{Offset: ntpOff, ErrorBound: 60 * time.Millisecond}, true)
			if !ok {
				continue
			}
			n++
			if d := s.Offset + localOff; d.Abs() > 10*time.Microsecond {
				t.Errorf("seed %d pulse %d: offset %v, want %v", seed, k, s.Offset, -localOff)
			}
		}
		if n < 55 {
			t.Errorf("seed %d: %d of 60 pulses gave samples", seed, n)
		}
	}
}
