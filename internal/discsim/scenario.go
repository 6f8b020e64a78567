package discsim

import (
	"fmt"
	"sort"
	"time"
)

// Scenario is one simulated run's model: BENCHMARKS.md section 1 plus faults.
type Scenario struct {
	// Name is S1..S11, L1 (leap inserted) or L2 (leap deleted).
	Name string
	// What says what the scenario exercises.
	What string
	// PPSSigma is the 1-sigma white noise of each pulse timestamp.
	PPSSigma time.Duration
	// Wander is W, the random-walk step of the frequency per second.
	Wander float64
	// Hours is the run length.
	Hours float64
	// InitialOffset is local - true at start.
	InitialOffset time.Duration
	// FreqPPM is the oscillator's initial frequency error.
	FreqPPM float64

	// LatencyMean adds Exp(LatencyMean) to every pulse stamp (S5), and
	// LatencyTailFrac of pulses get a further uniform LatencyTailMin..Max.
	LatencyMean                    time.Duration
	LatencyTailFrac                float64
	LatencyTailMin, LatencyTailMax time.Duration
	// OutageFrom..OutageTo (seconds) has no pulses and no NMEA (S6).
	OutageFrom, OutageTo float64
	// FreqStepAt (seconds) adds FreqStepPPM to the oscillator (S7).
	FreqStepAt, FreqStepPPM float64
	// MissingFrac of pulses are lost (S8).
	MissingFrac float64
	// WrongFrom..WrongTo (seconds): NMEA names second k+1 for pulse k (S9).
	WrongFrom, WrongTo float64
	// NoNMEAUntil (seconds): pulses without NMEA until then (S10).
	NoNMEAUntil float64
	// Leap is +1 (insert) or -1 (delete): a leap second at the end of the day
	// after the one the run starts in, announced by the leap table.
	Leap int
	// Start is the true UTC time of the run's start.
	Start time.Time

	// Bursts, when set, makes pulses late in bursts of consecutive pulses
	// (interrupt storms on a Pi): see Bursts.
	Bursts *Bursts
	// TailScale and TailAlpha, when TailAlpha > 0, add a heavy-tailed
	// (Pareto, minimum TailScale, index TailAlpha) one-sided latency to every
	// pulse, capped at 1 ms.
	TailScale time.Duration
	TailAlpha float64
	// Thermal, when set, drives the oscillator's frequency by a thermal
	// model and feeds its sensor's readings to the discipline (T1, T2).
	Thermal *Thermal
	// Seeds overrides the seeds --all runs (default 1-3).
	Seeds []uint64
}

// Bursts is a model of interrupt storms: storms arrive as a Poisson process
// (mean StormEvery seconds apart); each holds 1..PerStorm bursts a few
// seconds apart, each burst MinLen..MaxLen consecutive pulses, each pulse of
// a burst late by a uniform LateMin..LateMax (one-sided: interrupts are only
// ever late) and lost with probability DropFrac. At, when set, places one
// storm at each of those seconds too (to combine a storm with a fault).
type Bursts struct {
	StormEvery       float64
	PerStorm         int
	MinLen, MaxLen   int
	LateMin, LateMax time.Duration
	DropFrac         float64
	At               []float64
}

// chronyRef holds chrony's figures for S1-S4 (BENCHMARKS.md): the ranges
// over three seeds, and the Kalman limit.
type chronyRef struct {
	RMSLo, RMSHi, P99Lo, MaxLo, MaxHi, FreqLo, FreqHi, First10 float64
	Limit                                                      float64 // posterior RMS of the optimal filter
}

var chrony = map[string]chronyRef{
	"S1": {0.38e-6, 0.43e-6, 1.06e-6, 1.39e-6, 1.62e-6, 22, 24, 49, 0.21e-6},
	"S2": {1.63e-6, 1.73e-6, 4.34e-6, 5.82e-6, 6.80e-6, 98, 102, 49, 0.36e-6},
	"S3": {3.12e-6, 3.83e-6, 9.18e-6, 13.4e-6, 16.0e-6, 91, 156, 49, 2.0e-6},
	"S4": {6.93e-6, 7.38e-6, 19.7e-6, 29.3e-6, 35.1e-6, 352, 407, 49, 3.5e-6},
	"S8": {0.41e-6, 0.44e-6, 0, 1.6e-6, 2.2e-6, 0, 0, 49, 0.21e-6},
}

// Bars are BENCHMARKS.md's targets for S1-S4: 1.25x the limit.
var bars = map[string]float64{"S1": 0.26e-6, "S2": 0.45e-6, "S3": 2.5e-6, "S4": 4.4e-6}

var baseStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func base(name, what string, sigma time.Duration, w float64) Scenario {
	return Scenario{Name: name, What: what, PPSSigma: sigma, Wander: w, Hours: 4,
		InitialOffset: 100 * time.Millisecond, FreqPPM: 30, Start: baseStart}
}

// Scenarios returns every scenario by name.
func Scenarios() map[string]Scenario {
	m := map[string]Scenario{}
	add := func(s Scenario) { m[s.Name] = s }
	add(base("S1", "kernel PPS 1 µs, calm W 1e-9", time.Microsecond, 1e-9))
	add(base("S2", "kernel PPS 1 µs, harsh W 1e-8", time.Microsecond, 1e-8))
	add(base("S3", "GPIO stamps 20 µs, calm W 1e-9", 20*time.Microsecond, 1e-9))
	add(base("S4", "GPIO stamps 20 µs, harsh W 1e-8", 20*time.Microsecond, 1e-8))
	s := base("S5", "one-sided latency Exp(2 µs) + 2% of pulses 50-200 µs late", time.Microsecond, 1e-9)
	s.LatencyMean, s.LatencyTailFrac = 2*time.Microsecond, 0.02
	s.LatencyTailMin, s.LatencyTailMax = 50*time.Microsecond, 200*time.Microsecond
	add(s)
	s = base("S6", "GPS outage: no PPS, no NMEA 7200-10800 s", time.Microsecond, 1e-9)
	s.OutageFrom, s.OutageTo = 7200, 10800
	add(s)
	s = base("S7", "+1 ppm frequency step at 7200 s", time.Microsecond, 1e-9)
	s.FreqStepAt, s.FreqStepPPM = 7200, 1
	add(s)
	s = base("S8", "10% of pulses missing", time.Microsecond, 1e-9)
	s.MissingFrac = 0.1
	add(s)
	s = base("S9", "NMEA names second k+1 for 30 s from 7200 s", time.Microsecond, 1e-9)
	s.WrongFrom, s.WrongTo = 7200, 7230
	add(s)
	s = base("S10", "pulses without NMEA for the first 600 s", time.Microsecond, 1e-9)
	s.NoNMEAUntil = 600
	add(s)
	s = base("S11", "cold start 0.5 s off", time.Microsecond, 1e-9)
	s.InitialOffset = 500 * time.Millisecond
	add(s)
	s = base("L1", "leap second inserted at the end of the run's second day", time.Microsecond, 1e-9)
	s.Leap, s.Hours, s.Start = 1, 28, time.Date(2016, 12, 30, 22, 0, 0, 0, time.UTC)
	add(s)
	s = base("L2", "leap second deleted at the end of the run's second day", time.Microsecond, 1e-9)
	s.Leap, s.Hours, s.Start = -1, 28, time.Date(2027, 12, 30, 22, 0, 0, 0, time.UTC)
	add(s)
	for _, s := range burstFamilies() {
		add(s)
	}
	for _, s := range thermalFamilies() {
		add(s)
	}
	return m
}

// burstSeeds are the seeds of the burst families (several, since each storm
// falls differently).
var burstSeeds = []uint64{1, 2, 3, 4, 5}

// burstFamilies are the Pi's PPS interrupt latency scenarios (issue 9), all
// with kernel-PPS-grade jitter (1 µs) and calm wander.
func burstFamilies() []Scenario {
	storm := func(minLen, maxLen int, lo, hi time.Duration) *Bursts {
		return &Bursts{StormEvery: 600, PerStorm: 4, MinLen: minLen, MaxLen: maxLen, LateMin: lo, LateMax: hi}
	}
	var out []Scenario
	s := base("B1", "storms of bursts of 4-5 pulses 20-150 µs late (the issue's case)", time.Microsecond, 1e-9)
	s.Bursts = storm(4, 5, 20*time.Microsecond, 150*time.Microsecond)
	out = append(out, s)
	s = base("B2", "storms of bursts of 1-8 pulses 20-300 µs late", time.Microsecond, 1e-9)
	s.Bursts = storm(1, 8, 20*time.Microsecond, 300*time.Microsecond)
	out = append(out, s)
	s = base("B3", "bursts of 1-8 pulses 20-300 µs late, 30% of their pulses missing", time.Microsecond, 1e-9)
	s.Bursts = storm(1, 8, 20*time.Microsecond, 300*time.Microsecond)
	s.Bursts.DropFrac = 0.3
	out = append(out, s)
	s = base("B4", "heavy-tailed latency: Pareto(0.5 µs, alpha 1.5) on every pulse", time.Microsecond, 1e-9)
	s.TailScale, s.TailAlpha = 500*time.Nanosecond, 1.5
	out = append(out, s)
	s = base("B5", "bursts of 1-8 pulses 20-300 µs late, a storm at a +1 ppm step at 7200 s", time.Microsecond, 1e-9)
	s.Bursts = storm(1, 8, 20*time.Microsecond, 300*time.Microsecond)
	s.Bursts.At = []float64{7200}
	s.FreqStepAt, s.FreqStepPPM = 7200, 1
	out = append(out, s)
	s = base("B6", "frequent storms (every 120 s) of bursts of 1-8 pulses 20-300 µs late, with missing pulses", time.Microsecond, 1e-9)
	s.Bursts = storm(1, 8, 20*time.Microsecond, 300*time.Microsecond)
	s.Bursts.StormEvery, s.Bursts.DropFrac = 120, 0.2
	out = append(out, s)
	for i := range out {
		out[i].Seeds = burstSeeds
	}
	return out
}

// Names returns the scenario names in order.
func Names() []string {
	var n []string
	for k := range Scenarios() {
		n = append(n, k)
	}
	sort.Slice(n, func(i, j int) bool {
		a, b := n[i], n[j]
		if a[0] != b[0] {
			return order(a[0]) < order(b[0]) // S, B, T, L
		}
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	return n
}

// Lookup returns the named scenario.
func Lookup(name string) (Scenario, error) {
	s, ok := Scenarios()[name]
	if !ok {
		return Scenario{}, fmt.Errorf("sim: unknown scenario %q (have %v)", name, Names())
	}
	return s, nil
}

func order(c byte) int {
	switch c {
	case 'S':
		return 0
	case 'B':
		return 1
	case 'T':
		return 2
	}
	return 3
}
