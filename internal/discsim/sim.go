package discsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/leap"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// statsFrom is where the statistics start (BENCHMARKS.md: t >= 1800 s).
const statsFrom = 1800

// Result holds one run's figures. Offsets are local - true, seconds.
type Result struct {
	// Scenario, Seed and Hours identify the run.
	Scenario string  `json:"scenario"`
	Seed     uint64  `json:"seed"`
	Hours    float64 `json:"hours"`

	// RMSOffsetS, P99OffsetS, MaxOffsetS and MeanOffsetS are the RMS,
	// 99th percentile and maximum of |offset|, and the mean offset, over
	// t >= 1800 s.
	RMSOffsetS  float64 `json:"rms_offset_s"`
	P99OffsetS  float64 `json:"p99_offset_s"`
	MaxOffsetS  float64 `json:"max_offset_s"`
	MeanOffsetS float64 `json:"mean_offset_s"`
	// RMSFreqPPB is the RMS error of the frequency estimate the servo holds
	// (its estimate of the oscillator against the oscillator's true error).
	RMSFreqPPB float64 `json:"rms_freq_ppb"`
	// RMSRatePPB is the RMS error of the clock's actual rate over each second,
	// phase slews included ((x[k]-x[k-1])/1 s).
	RMSRatePPB float64 `json:"rms_rate_ppb"`
	// MaxRatePPM is the largest |rate error| over one second outside the
	// seconds with a step, from the end of the start-up pull-in on (the
	// first lock, then the first |offset| under 10 µs; ppm): what a client
	// sees of the phase slews.
	MaxRatePPM float64 `json:"max_rate_ppm"`
	// FirstBelow10usS and FirstBelow1usS are the first pulse instants with
	// |offset| below 10 µs and 1 µs (-1: never).
	FirstBelow10usS float64 `json:"first_below_10us_s"`
	FirstBelow1usS  float64 `json:"first_below_1us_s"`
	// FirstLockS is when the loop first declared lock (-1: never).
	FirstLockS float64 `json:"first_lock_s"`
	// Steps counts clock steps.
	Steps int `json:"steps"`

	// LimitRatio is RMS / the Kalman limit; ChronyRatio RMS / chrony's best
	// RMS; ChronyMaxRatio max / chrony's best max (S1-S4, S8).
	LimitRatio     float64 `json:"limit_ratio,omitempty"`
	ChronyRatio    float64 `json:"chrony_ratio,omitempty"`
	ChronyMaxRatio float64 `json:"chrony_max_ratio,omitempty"`

	// NoiseS, LatencyFloorS and WanderEst are the servo's noise, latency
	// and wander estimates at the end; Rejected its rejected samples;
	// LockerDisagree, LockerCoasted and FilterRejected the refclock's
	// counters (sentences naming the wrong second, pulses numbered by
	// continuity, PPS samples dropped as outliers).
	NoiseS         float64 `json:"noise_est_s"`
	LatencyFloorS  float64 `json:"latency_bias_est_s"`
	WanderEst      float64 `json:"wander_est"`
	Rejected       int     `json:"rejected"`
	LockerDisagree uint64  `json:"locker_disagree"`
	LockerCoasted  uint64  `json:"locker_coasted"`
	FilterRejected uint64  `json:"filter_rejected"`

	// Fault figures (zero when not applicable).
	OutageMaxS      float64 `json:"outage_max_offset_s,omitempty"`
	OutageRootDispS float64 `json:"outage_root_dispersion_s,omitempty"`
	// OutageFloorS is the drift a perfect frequency estimate frozen at the
	// outage's start would have shown (the oscillator's wander alone).
	OutageFloorS      float64 `json:"outage_floor_offset_s,omitempty"`
	OutageRecover1usS float64 `json:"outage_recover_1us_s,omitempty"`
	// ReturnRatePPM is the largest |rate error| over one second in the 60 s
	// after the outage (ppm), against Config.MaxPhaseSlewPPM.
	ReturnRatePPM    float64 `json:"return_rate_ppm,omitempty"`
	FaultPeakS       float64 `json:"fault_peak_offset_s,omitempty"`
	FaultPeakAtS     float64 `json:"fault_peak_at_s,omitempty"`
	FaultSettle10usS float64 `json:"fault_settle_10us_s,omitempty"`
	FaultFirst1usS   float64 `json:"fault_first_1us_s,omitempty"`
	LeapsApplied     int     `json:"leaps_applied,omitempty"`
	LeapAppliedErrS  float64 `json:"leap_applied_error_s,omitempty"`
	LeapArmedFrom    string  `json:"leap_armed_from,omitempty"`
	LeapArmedTo      string  `json:"leap_armed_to,omitempty"`
	LeapServedFrom   string  `json:"leap_served_from,omitempty"`
	LeapServedTo     string  `json:"leap_served_to,omitempty"`
	PostLeapMaxS     float64 `json:"post_leap_max_offset_s,omitempty"`

	// Thermal scenarios: OutageNoModelS is the outage's worst drift of the
	// same run without temperatures (set by Main); TempFit is the learned
	// model at the outage's start; TempTruthSlopePPB is the true
	// d(freq)/dT at the fit's reference temperature (ppb/°C).
	OutageNoModelS    float64             `json:"outage_no_model_offset_s,omitempty"`
	TempFit           *discipline.TempFit `json:"temp_fit,omitempty"`
	TempTruthSlopePPB float64             `json:"temp_truth_slope_ppb_per_c,omitempty"`
}

// Trace is the per-second record of a run, for tests.
type Trace struct {
	// Offset[k] is local - true at pulse k (seconds, leap steps removed).
	Offset []float64
	// Synced[k] and Leap[k] are the served state after pulse k's second.
	Synced []bool
	Leap   []ntp.Leap
	// Armed[k] is the clock's leap flag after second k.
	Armed []ntp.Leap
	// Wander[k] and Bias[k] are the servo's wander and latency estimates
	// after second k.
	Wander, Bias []float64
}

// Simulate runs scenario sc with seed over the real refclock.Locker and
// discipline.Loop, and returns its figures and trace.
func Simulate(sc Scenario, seed uint64) (Result, *Trace, error) {
	cur := sc.Start
	clk := discipline.NewSimClock(discipline.SimClockConfig{
		InitialOffset: sc.InitialOffset, FreqPPM: sc.FreqPPM, Wander: sc.Wander, Seed: seed,
	}, func() time.Time { return cur })
	// The measurement noise depends on the seed only, so scenarios with the
	// same seed share their draws where they share the model.
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365))

	var leaps discipline.LeapSource
	var leapAt time.Time // continuous true instant of the midnight ending the leap day
	if sc.Leap != 0 {
		day := sc.Start.Truncate(24 * time.Hour).Add(24 * time.Hour) // the leap day
		leapAt = day.Add(24 * time.Hour)
		tb, err := leap.New([]leap.Entry{
			{At: day.AddDate(0, -6, 0), TAIOffset: 37},
			{At: leapAt, TAIOffset: 37 + sc.Leap},
		}, leapAt.AddDate(1, 0, 0))
		if err != nil {
			return Result{}, nil, fmt.Errorf("sim: leap table: %w", err)
		}
		leaps = tb
	}
	cfg := discipline.DefaultConfig()
	loop, err := discipline.NewLoop(cfg, clk, leaps)
	if err != nil {
		return Result{}, nil, err
	}
	// The refclock pipeline RefClock.Run drives (Locker, outlier filter),
	// then the selection with the refclock as its only source, then the
	// Loop: the appliance's path without its goroutines.
	rcfg := refclock.DefaultConfig()
	rcfg.Locker.PPSErr = sc.PPSSigma // the PPS source's Precision
	pipe := refclock.NewPipeline(rcfg.Locker, rcfg.Filter, false)
	sel, err := selection.New(selection.DefaultConfig(), source.RefclockID)
	if err != nil {
		return Result{}, nil, err
	}
	feed := func(s source.Sample, ok bool, _ refclock.PipelineEvent) {
		if !ok {
			return
		}
		if res, err := sel.Add(s); err == nil && res.Use {
			loop.Update(s, res.Identity)
		}
	}

	n := int(sc.Hours * 3600)
	extra, drop := latencyPlan(sc, seed, n)
	tr := &Trace{
		Offset: make([]float64, n+1), Synced: make([]bool, n+1),
		Leap: make([]ntp.Leap, n+1), Armed: make([]ntp.Leap, n+1),
		Wander: make([]float64, n+1), Bias: make([]float64, n+1),
	}
	res := Result{Scenario: sc.Name, Seed: seed, Hours: sc.Hours,
		FirstBelow10usS: -1, FirstBelow1usS: -1, FirstLockS: -1}
	var rate []float64
	stepped := make([]bool, n+1) // a step fell in the second before pulse k
	lockedAt := -1
	var freqErr []float64
	var seq uint64
	stepsSeen := 0
	var rootDispAtEnd float64
	var oscAtOutage, floorPhase float64 // oscillator ppb frozen at the outage; its phase error
	var armedFrom, armedTo, servedFrom, servedTo time.Time
	var therm *thermalState
	if sc.Thermal != nil {
		therm = newThermal(*sc.Thermal, seed)
	}
	var readC float64
	for k := 0; k <= n; k++ {
		tk := sc.Start.Add(time.Duration(k) * time.Second)
		cur = tk
		if sc.FreqStepPPM != 0 && float64(k) == sc.FreqStepAt {
			clk.ShiftOscillatorPPB(sc.FreqStepPPM * 1e3)
		}
		if therm != nil {
			var shift float64
			shift, readC = therm.step(k)
			clk.ShiftOscillatorPPB(shift)
		}
		// The error at pulse k, with the clock's own leap steps removed (the
		// leap is checked separately).
		x := clk.TrueOffset(tk) // advances the clock to tk first
		x -= clk.Status().LeapShift.Seconds()
		tr.Offset[k] = x
		stepped[k] = clk.Status().Steps != stepsSeen
		stepsSeen = clk.Status().Steps
		if k > 0 {
			rate = append(rate, (x-tr.Offset[k-1])*1e9)
		}
		if loop.Locked() {
			est := loop.Stats().FreqPPB
			freqErr = append(freqErr, est-clk.OscillatorPPB())
		}

		// Draw every random number each second, used or not.
		jit := rng.NormFloat64() * sc.PPSSigma.Seconds()
		lat := rng.ExpFloat64() * sc.LatencyMean.Seconds()
		tailU, tailV := rng.Float64(), rng.Float64()
		missU := rng.Float64()
		nmeaD := 0.2 + 0.005*rng.NormFloat64()

		fk := float64(k)
		if sc.OutageTo > 0 && fk == sc.OutageFrom {
			oscAtOutage = clk.OscillatorPPB()
			if therm != nil && !sc.Thermal.NoModel {
				f := loop.TempFit()
				res.TempFit = &f
				d := f.RefC - sc.Thermal.RefC
				res.TempTruthSlopePPB = sc.Thermal.LinPPB + 2*sc.Thermal.QuadPPB*d
			}

		}
		if sc.OutageTo > 0 && fk > sc.OutageFrom && fk <= sc.OutageTo {
			res.OutageFloorS = math.Max(res.OutageFloorS, math.Abs(floorPhase))
		}
		outage := sc.OutageTo > 0 && fk >= sc.OutageFrom && fk < sc.OutageTo
		if !outage && !(missU < sc.MissingFrac) && !drop[k] {
			d := jit + lat + extra[k]
			if tailU < sc.LatencyTailFrac {
				d += sc.LatencyTailMin.Seconds() + tailV*(sc.LatencyTailMax-sc.LatencyTailMin).Seconds()
			}
			seq++
			stamp := clk.At(tk).Add(time.Duration(math.Round(d * 1e9)))
			feed(pipe.AddEdge(pps.Edge{Time: stamp, Seq: seq, Assert: true}))
		}
		if !outage && fk >= sc.NoNMEAUntil {
			cur = tk.Add(time.Duration(nmeaD * 1e9))
			label, leapSec := posixLabel(tk, leapAt, sc.Leap)
			if sc.WrongTo > 0 && fk >= sc.WrongFrom && fk < sc.WrongTo {
				label = label.Add(time.Second)
			}
			m := refclock.TimeMsg{UTC: label, Received: clk.Now(), Valid: true,
				Fix: 3, Sats: 9, LeapSecond: leapSec, Sentence: "RMC"}
			feed(pipe.AddTime(m))
		}
		cur = tk.Add(500 * time.Millisecond)
		if therm != nil && !sc.Thermal.NoModel {
			loop.SetTemperature(readC, true)
		}
		sel.Tick(clk.Now())
		loop.Tick(clk.Now())
		if sc.OutageTo > 0 && fk >= sc.OutageFrom && fk < sc.OutageTo {
			floorPhase += (clk.OscillatorPPB() - oscAtOutage) * 1e-9
		}

		state := loop.State()
		tr.Synced[k], tr.Leap[k] = state.Synced, state.Leap
		tr.Armed[k] = clk.Status().Leap
		ss := loop.Stats()
		tr.Wander[k], tr.Bias[k] = ss.Wander, ss.LatencyBias.Seconds()
		if state.Synced && res.FirstLockS < 0 {
			res.FirstLockS = fk
			lockedAt = k
		}
		// Leap flag and indicator, by the local clock's (UTC) reading.
		if tr.Armed[k] != ntp.LeapNone {
			if armedFrom.IsZero() {
				armedFrom = clk.Now()
			}
			armedTo = clk.Now()
		}
		if state.Leap == ntp.LeapInsert || state.Leap == ntp.LeapDelete {
			if servedFrom.IsZero() {
				servedFrom = clk.Now()
			}
			servedTo = clk.Now()
		}
		if sc.OutageTo > 0 && fk == sc.OutageTo-1 {
			rootDispAtEnd = state.RootDispersion.Seconds() +
				state.DispersionRate*clk.Now().Sub(state.RefTime).Seconds()
		}
	}

	// Figures.
	var sum, sum2 float64
	var abs []float64
	for k, x := range tr.Offset {
		a := math.Abs(x)
		if res.FirstBelow10usS < 0 && a < 10e-6 {
			res.FirstBelow10usS = float64(k)
		}
		if res.FirstBelow1usS < 0 && a < 1e-6 {
			res.FirstBelow1usS = float64(k)
		}
		if k >= statsFrom {
			sum += x
			sum2 += x * x
			abs = append(abs, a)
		}
	}
	sort.Float64s(abs)
	res.RMSOffsetS = math.Sqrt(sum2 / float64(len(abs)))
	res.MeanOffsetS = sum / float64(len(abs))
	res.P99OffsetS = abs[int(math.Ceil(0.99*float64(len(abs))))-1]
	res.MaxOffsetS = abs[len(abs)-1]
	res.RMSFreqPPB = rms(tail(freqErr, len(abs)))
	res.RMSRatePPB = rms(rate[statsFrom-1:])
	res.MaxRatePPM = maxRateOutsideSteps(tr.Offset, stepped, lockedAt)
	if c, ok := chrony[sc.Name]; ok {
		res.LimitRatio = res.RMSOffsetS / c.Limit
		res.ChronyRatio = res.RMSOffsetS / c.RMSLo
		res.ChronyMaxRatio = res.MaxOffsetS / c.MaxLo
	}
	st := loop.Stats()
	res.Steps = clk.Status().Steps
	res.NoiseS = st.Noise.Seconds()
	res.LatencyFloorS = st.LatencyBias.Seconds()
	res.WanderEst = st.Wander
	res.Rejected = st.Rejected
	ls := pipe.Locker().Stats()
	res.LockerDisagree, res.LockerCoasted = ls.Disagree, ls.Coasted
	res.FilterRejected = pipe.Filter().Stats().Rejected

	if sc.OutageTo > 0 {
		res.OutageRootDispS = rootDispAtEnd
		res.OutageMaxS = maxAbs(tr.Offset[min(n, int(sc.OutageFrom)):min(n, int(sc.OutageTo))])
		for k := int(sc.OutageTo) + 1; k <= min(n, int(sc.OutageTo)+60); k++ {
			res.ReturnRatePPM = math.Max(res.ReturnRatePPM, math.Abs(rate[k-1])/1e3)
		}
		res.OutageRecover1usS = -1
		for k := int(sc.OutageTo); k <= n; k++ {
			if math.Abs(tr.Offset[k]) < 1e-6 {
				res.OutageRecover1usS = float64(k) - sc.OutageTo
				break
			}
		}
	}
	from := 0.0
	switch {
	case sc.FreqStepPPM != 0:
		from = sc.FreqStepAt
	case sc.WrongTo > 0:
		from = sc.WrongFrom
	}
	if from > 0 {
		peakK := int(from)
		for k := int(from); k <= n; k++ {
			if math.Abs(tr.Offset[k]) > math.Abs(tr.Offset[peakK]) {
				peakK = k
			}
		}
		res.FaultPeakS, res.FaultPeakAtS = math.Abs(tr.Offset[peakK]), float64(peakK)-from
		last := int(from) - 1
		for k := int(from); k <= n; k++ {
			if math.Abs(tr.Offset[k]) >= 10e-6 {
				last = k
			}
		}
		res.FaultSettle10usS = float64(last+1) - from
		res.FaultFirst1usS = -1
		for k := peakK; k <= n; k++ {
			if math.Abs(tr.Offset[k]) < 1e-6 {
				res.FaultFirst1usS = float64(k) - from
				break
			}
		}
	}
	if sc.Leap != 0 {
		cs := clk.Status()
		res.LeapsApplied = cs.LeapsApplied
		want := leapAt
		if sc.Leap < 0 {
			want = leapAt.Add(-time.Second)
		}
		if !cs.LastLeap.IsZero() {
			res.LeapAppliedErrS = cs.LastLeap.Sub(want).Seconds()
		}
		f := func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.Format("2006-01-02T15:04:05.000Z")
		}
		res.LeapArmedFrom, res.LeapArmedTo = f(armedFrom), f(armedTo)
		res.LeapServedFrom, res.LeapServedTo = f(servedFrom), f(servedTo)
		k0 := int(leapAt.Sub(sc.Start).Seconds())
		if k0 < n {
			res.PostLeapMaxS = maxAbs(tr.Offset[k0:])
		}
	}
	return res, tr, nil
}

// latencyPlan draws the bursts' and heavy tail's extra latency (seconds)
// and lost pulses for each second from their own generator, so the other
// scenarios' draws stay as they were.
func latencyPlan(sc Scenario, seed uint64, n int) (extra []float64, drop []bool) {
	extra, drop = make([]float64, n+1), make([]bool, n+1)
	rng := rand.New(rand.NewPCG(seed, 0x6275727374))
	if sc.TailAlpha > 0 {
		for k := range extra {
			// Pareto: scale / U^(1/alpha), U in (0, 1].
			u := 1 - rng.Float64()
			extra[k] = math.Min(sc.TailScale.Seconds()/math.Pow(u, 1/sc.TailAlpha), 1e-3)
		}
	}
	b := sc.Bursts
	if b == nil {
		return extra, drop
	}
	var storms []float64
	for t := rng.ExpFloat64() * b.StormEvery; t < float64(n); t += rng.ExpFloat64() * b.StormEvery {
		storms = append(storms, t)
	}
	storms = append(storms, b.At...)
	for _, t0 := range storms {
		k := int(t0)
		for range 1 + rng.IntN(b.PerStorm) {
			l := b.MinLen + rng.IntN(b.MaxLen-b.MinLen+1)
			for j := 0; j < l && k <= n; j, k = j+1, k+1 {
				extra[k] += b.LateMin.Seconds() + rng.Float64()*(b.LateMax-b.LateMin).Seconds()
				drop[k] = rng.Float64() < b.DropFrac
			}
			k += 2 + rng.IntN(8) // the next burst of the storm, a few seconds on
		}
	}
	return extra, drop
}

// settledS is the |offset| below which the start-up acquisition is over:
// the first lock may be declared while the servo still pulls the initial
// offset in at Config.MaxSlewPPM (the slew that stands in for the initial
// step), and that pull-in is not a rate error outside steps.
const settledS = 10e-6

// maxRateOutsideSteps returns the largest |rate error| over one second (ppm)
// of the offset trace x (seconds, one per second), counted from the first
// pulse at or after lockedAt with |offset| under settledS (the end of the
// start-up acquisition slew), leaving out the seconds with a step (stepped[k]:
// a step fell in the second before pulse k). lockedAt < 0 (never locked)
// gives 0. A clock that locks but never settles is counted from lockedAt.
func maxRateOutsideSteps(x []float64, stepped []bool, lockedAt int) float64 {
	if lockedAt < 0 || lockedAt >= len(x) {
		return 0
	}
	from := lockedAt
	for k := lockedAt; k < len(x); k++ {
		if math.Abs(x[k]) < settledS {
			from = k
			break
		}
	}
	var m float64
	for k := from + 1; k < len(x); k++ {
		if !stepped[k] {
			m = math.Max(m, math.Abs(x[k]-x[k-1])*1e6)
		}
	}
	return m
}

// posixLabel is the UTC (POSIX) second a receiver names for the pulse at the
// continuous true instant t, given a leap (+1 inserted, -1 deleted) at the
// midnight leapAt; leapSec is true for the inserted second 23:59:60.
func posixLabel(t, leapAt time.Time, lp int) (label time.Time, leapSec bool) {
	switch {
	case lp > 0 && !t.Before(leapAt):
		return t.Add(-time.Second), t.Before(leapAt.Add(time.Second))
	case lp < 0 && !t.Before(leapAt.Add(-time.Second)):
		return t.Add(time.Second), false
	}
	return t, false
}

func rms(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

func tail(v []float64, n int) []float64 {
	if len(v) > n {
		return v[len(v)-n:]
	}
	return v
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
