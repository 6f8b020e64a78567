package views

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// healthy is a refclock after n seconds of a good receiver and pulses.
func healthy(n uint64) refclock.Status {
	st := refclock.Status{Locked: true}
	st.NMEA.Lines, st.NMEA.TimeMsgs = 6*n, n
	st.Locker.Edges, st.Locker.Numbered = n, n
	st.Receiver = refclock.Receiver{Valid: true, Fix: 3, Sats: 9, Received: t0.Add(time.Duration(n) * time.Second)}
	return st
}

// TestHealthUnnumberedAndCleared: pulses and a good fix but no pulse
// numbered raise FaultUnnumbered after the hold, and numbering again
// clears it; the default hold is within the 30 s an operator waits.
func TestHealthUnnumberedAndCleared(t *testing.T) {
	if DefaultHealthAfter > 25*time.Second {
		t.Fatalf("DefaultHealthAfter %v leaves no margin in 30 s", DefaultHealthAfter)
	}
	synced := &discipline.SyncState{Synced: true}
	h := NewHealth(t0, 10*time.Second, true)
	var raisedAt time.Duration
	for i := uint64(1); i <= 30; i++ {
		st := healthy(i)
		st.Locker.Numbered = 3 // stuck
		if evs := h.Check(t0.Add(time.Duration(i)*time.Second), st, synced); len(evs) > 0 {
			if raisedAt != 0 || evs[0].Fault != FaultUnnumbered || !evs[0].Raised || len(evs) != 1 {
				t.Fatalf("second %d: events %+v", i, evs)
			}
			raisedAt = time.Duration(i) * time.Second
		}
	}
	if raisedAt == 0 || raisedAt > 14*time.Second {
		t.Fatalf("unnumbered raised at %v, want soon after 10 s", raisedAt)
	}
	st := healthy(31)
	evs := h.Check(t0.Add(31*time.Second), st, synced)
	if len(evs) != 1 || evs[0].Raised || evs[0].Fault != FaultUnnumbered {
		t.Fatalf("numbering again: events %+v, want unnumbered cleared", evs)
	}
	if len(h.Active()) != 0 {
		t.Errorf("active %v", h.Active())
	}
	// Lock lost: not synced for the hold raises FaultNotSynced.
	var got []HealthEvent
	for i := uint64(32); i < 50; i++ {
		got = append(got, h.Check(t0.Add(time.Duration(i)*time.Second), healthy(i), &discipline.SyncState{})...)
	}
	if len(got) != 1 || got[0].Fault != FaultNotSynced || !got[0].Raised {
		t.Errorf("unsynced: %+v", got)
	}
}

// TestHealthNoPPSConfigured: without a PPS source, no pulses are no fault.
func TestHealthNoPPSConfigured(t *testing.T) {
	h := NewHealth(t0, 5*time.Second, false)
	for i := uint64(1); i < 20; i++ {
		st := healthy(i)
		st.Locker = refclock.LockerStats{}
		if evs := h.Check(t0.Add(time.Duration(i)*time.Second), st, &discipline.SyncState{Synced: true}); len(evs) > 0 {
			t.Fatalf("events %+v", evs)
		}
	}
}

func snapAt(sec int, offset time.Duration) *status.Snapshot {
	now := t0.Add(time.Duration(sec) * time.Second)
	return &status.Snapshot{
		Time: now,
		Sync: &discipline.SyncState{Synced: true, Stratum: 1, RefID: ntp.RefIDPPS, Peer: source.RefclockID,
			OffsetEst: offset, FreqPPB: -30000, RefTime: now},
		Sources: []status.Source{{ID: source.RefclockID, AssocID: 1, State: selection.StateSystemPeer, Reach: 0377,
			Last: source.Sample{Source: source.RefclockID, Kind: source.KindPPS, Local: now, Offset: offset, RefID: ntp.RefIDPPS}}},
	}
}

// TestHistory: the hour ring keeps one point per HourStep and no more than
// an hour; jitter is the RMS of successive differences and restarts after
// a step; the residual frequency is the offset's slope.
func TestHistory(t *testing.T) {
	h := NewHistory()
	// A 200 ms step, then offsets alternating ±1 µs on a slope of
	// +0.5 µs/s (0.5 ppm).
	h.Observe(snapAt(0, 200*time.Millisecond))
	for i := 1; i <= 2*3600; i++ {
		off := time.Duration(float64(i)*500) + time.Duration(1000*(2*(i%2)-1))
		h.Observe(snapAt(i, off))
	}
	if n := len(h.Hour()); n != hourPoints {
		t.Errorf("hour points %d, want %d", n, hourPoints)
	}
	if p := h.Hour(); p[len(p)-1].Unix-p[0].Unix != float64((hourPoints-1)*int(HourStep/time.Second)) {
		t.Errorf("hour spans %v s", p[len(p)-1].Unix-p[0].Unix)
	}
	if n := len(h.Day()); n != 2*3600/int(DayStep/time.Second) {
		t.Errorf("day points %d after two hours", n)
	}
	j, ok := h.Jitter(source.RefclockID)
	// successive differences: 0.5 µs ± 2 µs.
	if want := 2 * time.Microsecond; !ok || (j-want).Abs() > 200*time.Nanosecond {
		t.Errorf("jitter %v, want about %v", j, want)
	}
	f, skew := h.ResidualFreq()
	if math.Abs(f-0.5) > 0.05 || skew <= 0 || skew > 0.05 {
		t.Errorf("residual %.4f ppm, skew %.4f; want 0.5 and small", f, skew)
	}
}

// TestWriteText: a report prints in ntpq -p columns and chronyc tracking
// lines with units and signs.
func TestWriteText(t *testing.T) {
	h := NewHistory()
	for i := range 20 {
		h.Observe(snapAt(i*10, time.Duration(i%2)*time.Microsecond))
	}
	r := Build(snapAt(200, -3*time.Microsecond), h)
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"*GPS             .PPS.            0 l    0    1  377    0.000   -0.003    0.001\n",
		"Reference ID    : PPS (GPS)\n",
		"System time     : 0.000003000 seconds fast of NTP time\n",
		"Frequency       : 30.000 ppm fast\n",
		"Leap status     : Normal\n",
		"Dropped         : none\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// TestPulseMonitor: intervals, a missed pulse and the RMS jitter.
func TestPulseMonitor(t *testing.T) {
	var p PulseMonitor
	edges := []time.Duration{0, time.Second + 2*time.Microsecond, 2*time.Second - 2*time.Microsecond, 4 * time.Second}
	var got []PulseReport
	for _, e := range edges {
		got = append(got, p.Add(t0.Add(e)))
	}
	if got[0].Interval != 0 || got[0].Jitter != 0 {
		t.Errorf("first edge %+v", got[0])
	}
	if got[1].Error != 2*time.Microsecond || got[2].Error != -4*time.Microsecond || got[3].Missed != 1 || got[3].Error != 2*time.Microsecond {
		t.Errorf("reports %+v", got)
	}
	// RMS of 2, -4, 2 µs: sqrt(24/3) = 2.83 µs.
	if j := got[3].Jitter; (j - 2828*time.Nanosecond).Abs() > 2*time.Nanosecond {
		t.Errorf("jitter %v", j)
	}
}

// TestPoolStep: each rule of the pool's scoring.
func TestPoolStep(t *testing.T) {
	ok := PoolAnswer{Answered: true, Stratum: 1}
	with := func(f func(*PoolAnswer)) PoolAnswer { a := ok; f(&a); return a }
	off := func(d time.Duration) PoolAnswer { return with(func(a *PoolAnswer) { a.Offset = d }) }
	cases := []struct {
		name string
		a    PoolAnswer
		step float64
	}{
		{"good", off(3 * time.Millisecond), 1},
		{"25 ms exactly", off(-25 * time.Millisecond), 1},
		{"62.5 ms: halfway down", off(62500 * time.Microsecond), 0.5},
		{"100 ms", off(100 * time.Millisecond), 0},
		{"101 ms", off(-101 * time.Millisecond), -2},
		{"751 ms", off(751 * time.Millisecond), -4},
		{"3.1 s", off(-3100 * time.Millisecond), -100},
		{"no answer", PoolAnswer{}, -5},
		{"RATE", with(func(a *PoolAnswer) { a.Kiss, a.Stratum = "RATE", 0 }), -3.5},
		{"DENY", with(func(a *PoolAnswer) { a.Kiss, a.Stratum = "DENY", 0 }), -10},
		{"RSTR", with(func(a *PoolAnswer) { a.Kiss, a.Stratum = "RSTR", 0 }), -10},
		{"stratum 16", with(func(a *PoolAnswer) { a.Stratum = 16 }), -4},
		{"stratum 0 without a kiss", with(func(a *PoolAnswer) { a.Stratum = 0 }), -4},
		{"leap alarm", with(func(a *PoolAnswer) { a.Leap = 3 }), -4},
		{"stratum 8", with(func(a *PoolAnswer) { a.Stratum = 8 }), -2},
		{"stratum 7", with(func(a *PoolAnswer) { a.Stratum = 7 }), 1},
	}
	for _, c := range cases {
		step, reason := PoolStep(c.a)
		if math.Abs(step-c.step) > 1e-9 || reason == "" {
			t.Errorf("%s: step %v (%s), want %v", c.name, step, reason, c.step)
		}
	}
}

// TestPoolScore: a good server enters DNS (above 10) after 14 checks from
// 0 and converges on 20; one no-answer costs 5.95 from there.
func TestPoolScore(t *testing.T) {
	s, n := 0.0, 0
	for s <= PoolInDNS {
		s = PoolScore(s, 1)
		n++
	}
	if n != 14 {
		t.Errorf("in DNS after %d good checks, want 14", n)
	}
	for range 500 {
		s = PoolScore(s, 1)
	}
	if math.Abs(s-PoolMax) > 1e-6 {
		t.Errorf("converges on %v, want %v", s, PoolMax)
	}
	if got := PoolScore(20, -5); math.Abs(got-14) > 1e-9 {
		t.Errorf("20 then no answer: %v, want 14", got)
	}
	if got := PoolScore(-100, -100); got != -100 {
		t.Errorf("floor: %v", got)
	}
	best := PoolBest([]PoolAnswer{{}, {Answered: true, Kiss: "RATE"}, {Answered: true, Stratum: 1, RTT: 3 * time.Millisecond},
		{Answered: true, Stratum: 1, RTT: time.Millisecond, Offset: 7}})
	if best.RTT != time.Millisecond || best.Offset != 7 {
		t.Errorf("best %+v, want the 1 ms round trip", best)
	}
}

// TestGPSLine: the JSON line's time in RFC 3339 nanoseconds, and the PPS
// delay only from an edge that can have named the sentence's second.
func TestGPSLine(t *testing.T) {
	m := refclock.TimeMsg{UTC: t0, Received: t0.Add(212500 * time.Microsecond), Valid: true, Fix: 3, Sats: 9, Sentence: "RMC"}
	l := NewGPSLine(m, t0.Add(10*time.Microsecond))
	if l.UTC != "2026-11-25T08:00:00Z" || l.Received != "2026-11-25T08:00:00.2125Z" || l.PPSDelayS == nil ||
		math.Abs(*l.PPSDelayS-0.21249) > 1e-9 || math.Abs(l.SinceSecondS-0.2125) > 1e-9 {
		t.Errorf("line %+v", l)
	}
	if l := NewGPSLine(m, t0.Add(-2*time.Second)); l.PPSDelayS != nil {
		t.Errorf("a 2 s old edge gave a delay %v", *l.PPSDelayS)
	}
	if l := NewGPSLine(m, time.Time{}); l.PPSDelayS != nil {
		t.Errorf("no edge gave a delay")
	}
}

// TestHealthBarePPS: a bare PPS wire (no receiver UART) raises no NMEA
// fault for a silent port; pulses numbered from NTP count as numbered,
// and pulses nothing numbers still raise FaultUnnumbered.
func TestHealthBarePPS(t *testing.T) {
	synced := &discipline.SyncState{Synced: true}
	h := NewHealthWired(t0, 5*time.Second, Wiring{PPS: true, NoNMEA: true})
	for i := uint64(1); i < 20; i++ {
		st := refclock.Status{}
		st.Locker.Edges = i
		st.Locker.NTPNumbered = i
		if evs := h.Check(t0.Add(time.Duration(i)*time.Second), st, synced); len(evs) > 0 {
			t.Fatalf("second %d: numbered from NTP, silent port: events %+v", i, evs)
		}
	}
	var got []HealthEvent
	for i := uint64(20); i < 30; i++ {
		st := refclock.Status{}
		st.Locker.Edges = i
		st.Locker.NTPNumbered = 19
		got = append(got, h.Check(t0.Add(time.Duration(i)*time.Second), st, synced)...)
	}
	if len(got) != 1 || got[0].Fault != FaultUnnumbered || !got[0].Raised {
		t.Errorf("pulses no longer numbered from NTP: events %+v, want unnumbered raised", got)
	}
	// The same silent port wired with NMEA is a fault.
	h = NewHealthWired(t0, 5*time.Second, Wiring{PPS: true})
	got = nil
	for i := uint64(1); i < 20; i++ {
		st := refclock.Status{}
		st.Locker.Edges = i
		got = append(got, h.Check(t0.Add(time.Duration(i)*time.Second), st, synced)...)
	}
	if len(got) == 0 || got[0].Fault != FaultNoBytes {
		t.Errorf("silent port with NMEA wired: events %+v, want no_bytes", got)
	}
}

// TestTemperatureSection: a sensor's reading and model reach the report
// and the text; without a sensor there is neither.
func TestTemperatureSection(t *testing.T) {
	snap := snapAt(0, 0)
	var b strings.Builder
	if err := WriteText(&b, Build(snap, nil)); err != nil {
		t.Fatal(err)
	}
	if r := Build(snap, nil); r.Temperature != nil || strings.Contains(b.String(), "Temperature") {
		t.Errorf("a temperature section without a sensor: %+v\n%s", r.Temperature, b.String())
	}
	snap.Temperature = &discipline.Temperature{File: "/sys/t", Celsius: 45.123, Valid: true, ReadErrors: 2,
		Fit: discipline.TempFit{RefC: 44, SlopePPBPerC: 12.3, SlopeSigmaPPBPerC: 0.8, Samples: 90, SpanC: 3.5, Trusted: true, LagS: 120}}
	r := Build(snap, nil)
	if tp := r.Temperature; tp == nil || tp.Celsius != 45.123 || !tp.Valid || tp.ReadErrors != 2 || tp.CoefficientPPBPerC != 12.3 ||
		!tp.Trusted || tp.Samples != 90 || tp.ReferenceC != 44 || tp.LagS != 120 {
		t.Errorf("report temperature %+v", r.Temperature)
	}
	for _, tc := range []struct {
		change func(*discipline.Temperature)
		want   []string
	}{
		{func(*discipline.Temperature) {}, []string{
			"Temperature     : 45.123 °C (2 read errors)\n",
			"Temp model      : 12.300 ± 0.800 ppb/°C (trusted; 90 samples over 3.5 °C, lag 120 s)\n"}},
		{func(tp *discipline.Temperature) { tp.Fit.Trusted = false }, []string{"ppb/°C (learning; 90 samples"}},
		{func(tp *discipline.Temperature) { tp.Fit = discipline.TempFit{} }, []string{"Temp model      : learning (no samples yet"}},
		{func(tp *discipline.Temperature) { tp.Valid = false }, []string{"Temperature     : not read (2 read errors; /sys/t)\n"}},
	} {
		tp := *snap.Temperature
		tc.change(&tp)
		s := *snap
		s.Temperature = &tp
		var b strings.Builder
		if err := WriteText(&b, Build(&s, nil)); err != nil {
			t.Fatal(err)
		}
		for _, want := range tc.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("missing %q in\n%s", want, b.String())
			}
		}
	}
}
