package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A straight free-running phase with white noise: the fit finds its slope
// to the noise over the span's precision, through the corrections.
func TestHoldFreqSlope(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h holdFreq
	const y, sigma = 3e-6, 1e-6
	ctl := 0.0
	for k := 0; k < 2000; k++ {
		c := 1e-6 * math.Sin(float64(k)/50) // the servo's corrections
		ctl += c
		h.addControl(c)
		h.add(float64(k), y*float64(k)+ctl+sigma*rng.NormFloat64())
	}
	for _, span := range []float64{100, 1000} {
		g, ok := h.slope(span)
		sd := math.Sqrt(12 * sigma * sigma / (span * span * span))
		if !ok || math.Abs(g-y) > 4*sd {
			t.Errorf("span %v: slope %.4g (ok %v), want %.4g ± %.2g", span, g, ok, y, 4*sd)
		}
	}
}

// Too little history is refused; a reset forgets it; the history is bounded.
func TestHoldFreqHistory(t *testing.T) {
	var h holdFreq
	h.add(0, 0)
	h.add(1, 1e-9)
	if _, ok := h.slope(100); ok {
		t.Error("two pulses: slope given")
	}
	for k := 2; k < 40; k++ {
		h.add(float64(k), 1e-9*float64(k))
	}
	if _, ok := h.slope(100); ok {
		t.Error("40 s of history for a 100 s span: slope given")
	}
	if g, ok := h.slope(30); !ok || math.Abs(g-1e-9) > 1e-15 {
		t.Errorf("slope %v %v, want 1e-9", g, ok)
	}
	for k := 40; k < 3*holdHistoryS; k++ {
		h.add(float64(k), 1e-9*float64(k))
	}
	if span := h.t[len(h.t)-1] - h.t[0]; span > 1.25*holdHistoryS {
		t.Errorf("history spans %v s", span)
	}
	h.reset()
	if _, ok := h.slope(10); ok || len(h.t) != 0 {
		t.Error("reset kept history")
	}
}

// The window follows the measured noise and wander: longer for more noise
// or less wander (N ∝ sqrt(sigma/w)), bounded by the history.
func TestHoldWindow(t *testing.T) {
	a := holdWindow(1e-12, 1e-9, 1)
	if math.Abs(a-3.14*math.Sqrt(1e-6/1e-9)) > 1 {
		t.Errorf("window %v s for 1 µs, 1e-9", a)
	}
	if b := holdWindow(1e-10, 1e-9, 1); math.Abs(b/a-math.Sqrt(10)) > 0.01 {
		t.Errorf("10x noise: window %v s, want %v", b, a*math.Sqrt(10))
	}
	if c := holdWindow(1e-12, 1e-13, 1); c != holdHistoryS {
		t.Errorf("tiny wander: window %v s, want the history", c)
	}
	if d := holdWindow(1e-18, 1e-6, 1); d != 10 {
		t.Errorf("huge wander: window %v s, want 10", d)
	}
	if holdWindow(0, 1e-9, 1) != holdHistoryS {
		t.Error("no noise estimate: not the whole history")
	}
}

// In an outage the servo holds the least-squares frequency of its locked
// pulses (when it agrees with the tracking estimate), which is the
// oscillator's within the fit's error, and the clock drifts accordingly.
func TestServoHoldsFittedFrequency(t *testing.T) {
	r := newRig(t, DefaultConfig(), SimClockConfig{FreqPPM: 30, Wander: 1e-9, Seed: 3}, day0(), nil)
	r.run(3600, nil)
	if !r.loop.Locked() {
		t.Fatal("not locked")
	}
	osc := r.clk.OscillatorPPB()
	r.run(20, func(int) bool { return true })
	s := r.loop.servo
	if !s.holding {
		t.Fatal("20 s without pulses: not holding over")
	}
	f := s.est()
	n := holdWindow(s.noiseVar, f.w, 1)
	g, ok := s.hold.slope(n)
	if !ok || math.Abs(s.holdY-g/(1-g)) > 1e-15 {
		t.Errorf("held %.4g, the fit over %.0f s gives %.4g (ok %v)", s.holdY, n, g/(1-g), ok)
	}
	// The fit's own error (noise and lag), plus the oscillator's walk in the
	// 20 s since: 4 sd.
	sd := math.Sqrt(12*s.noiseVar/(n*n*n) + 13.0/35*1e-18*n + 1e-18*20)
	if d := math.Abs(s.holdY*1e9 - osc); d > 4*sd*1e9 {
		t.Errorf("held %.2f ppb, oscillator %.2f ppb at the outage: %.2f ppb off, want < %.2f", s.holdY*1e9, osc, d, 4*sd*1e9)
	}
	if n < 50 || n > 200 {
		t.Errorf("window %.0f s for 1 µs noise and 1e-9 wander, want ~100", n)
	}
}

// On the model the bank assumes (white phase noise σ, random-walk frequency
// W and nothing else) no estimator from the pulses can know the frequency at
// the outage start better than the steady-state Kalman posterior, sd
// 2^¼ W^¾ σ^¼ per one-second pulse (doc.go, "What no estimator can know"):
// the held frequency's RMS error over many seeds sits at that limit, not
// above it (a worse choice of window or of estimate shows as a ratio well
// above 1).
func TestHeldFrequencyAtLimit(t *testing.T) {
	const w, sigma, seeds = 1e-9, 1e-6, 16
	limit := math.Pow(2, 0.25) * math.Pow(w, 0.75) * math.Pow(sigma, 0.25)
	var sum2 float64
	for seed := uint64(1); seed <= seeds; seed++ {
		r := newRig(t, DefaultConfig(), SimClockConfig{FreqPPM: 30, Wander: w, Seed: seed}, day0(), nil)
		r.rng = rand.New(rand.NewPCG(seed, 9))
		r.run(3600, nil)
		osc := r.clk.OscillatorPPB() * 1e-9
		r.run(holdAfter+2, func(int) bool { return true })
		s := r.loop.servo
		if !s.holding {
			t.Fatalf("seed %d: not holding over", seed)
		}
		sum2 += sq(s.holdY - osc)
	}
	rms := math.Sqrt(sum2 / seeds)
	t.Logf("held frequency RMS error %.2f ppb, limit %.2f ppb", rms*1e9, limit*1e9)
	// 16 seeds put the RMS within about ±18% (1 sd) of its expectation.
	if ratio := rms / limit; ratio > 1.4 || ratio < 0.6 {
		t.Errorf("held frequency RMS error %.2f ppb over %d seeds, limit %.2f ppb: ratio %.2f, want 0.6-1.4",
			rms*1e9, seeds, limit*1e9, ratio)
	}
}
