package discipline

import (
	"math"
	"time"
)

// wanderBank is the set of random-walk frequency noise levels (fractional
// per square-root second) the servo's filters assume; the servo follows the
// one that has predicted the pulses best lately (see doc.go).
var wanderBank = []float64{1e-11, 3e-11, 1e-10, 3e-10, 1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6}

// defaultFilter is the bank index followed before the scores mean anything.
const defaultFilter = 6 // 1e-8

// kalman is one two-state filter: phase x (local - reference, seconds) at
// the servo time t, oscillator frequency y (fractional, before correction).
type kalman struct {
	w     float64 // assumed wander
	x, y  float64
	p     [2][2]float64
	score float64 // exponentially weighted squared prediction error
}

// segment is a frequency correction c applied from servo time t on.
type segment struct {
	t, c float64
}

// Action is what the servo asks of the clock: first Step (when non-zero),
// then SetFrequencyPPB(FreqPPB) when SetFreq.
type Action struct {
	// Step is added to the clock (offset convention: reference - local).
	Step time.Duration
	// SetFreq asks for FreqPPB to be set.
	SetFreq bool
	// FreqPPB is the frequency correction to set, parts per billion.
	FreqPPB float64
	// Accepted is true when the sample was used (false: rejected or ignored).
	Accepted bool
	// Reacquired is true when the servo restarted after persistent rejections.
	Reacquired bool
	// Innovation is the sample's offset minus the prediction
	// (reference - local convention).
	Innovation time.Duration
}

// ServoStats describes the servo's estimates, for monitoring and tests.
type ServoStats struct {
	// Offset is the estimated reference - local at the last sample.
	Offset time.Duration
	// FreqPPB is the estimated oscillator frequency error (positive: gains).
	FreqPPB float64
	// OffsetSigma and FreqSigmaPPB are the 1-sigma uncertainties.
	OffsetSigma  time.Duration
	FreqSigmaPPB float64
	// Noise is the estimated 1-sigma sample noise (total).
	Noise time.Duration
	// LatencyBias is the estimated mean one-sided latency removed from samples.
	LatencyBias time.Duration
	// Wander is the random-walk level of the filter followed.
	Wander float64
	// Accepted and Rejected count samples.
	Accepted, Rejected int
	// Steps counts steps asked for.
	Steps int
}

// Servo is a pure phase and frequency estimator and controller: a bank of
// two-state Kalman filters with on-line noise estimation, outlier gating and
// a frequency-only actuator (see doc.go). It does no I/O; times are passed in.
type Servo struct {
	cfg    Config
	origin time.Time // servo time 0 (local clock reading)
	init   bool
	tLast  float64 // servo time of the last pulse the filters are at
	bank   []kalman
	sel    int
	segs   []segment // corrections in force since tLast
	until  float64   // servo time the current slew targets

	initFreq   float64 // oscillator frequency assumed at start (fractional)
	initFreqSD float64

	// Noise estimation over accepted pulse innovations.
	n              int
	m1, m2, m3     float64 // EW raw moments of innovations (before bias removal)
	noiseVar       float64 // estimated total sample variance
	bias           float64 // estimated mean latency (phase units, seconds)
	lastExtVar     float64 // variance of a non-adaptive (NMEA) sample
	rejectSince    float64 // servo time of the first of consecutive rejections, or NaN
	runSign, runN  int     // consecutive large innovations of one sign
	accepted, rej  int
	steps          int
	stepAllowed    bool
	everLocked     bool
	lastInnovation float64
}

// NewServo returns a servo in its initial (unacquired) state.
func NewServo(cfg Config) *Servo {
	s := &Servo{cfg: cfg, initFreqSD: cfg.InitialFreqUncertaintyPPM * 1e-6, stepAllowed: true}
	s.Reset()
	return s
}

// Reset forgets the phase and the noise estimates (keeping the frequency
// estimate as the starting point), as after an actuator error.
func (s *Servo) Reset() {
	if s.init {
		f := &s.bank[s.sel]
		s.initFreq = f.y
		s.initFreqSD = math.Max(math.Sqrt(f.p[1][1]), 1e-6)
	}
	s.init = false
	s.bank = make([]kalman, len(wanderBank))
	for i, w := range wanderBank {
		s.bank[i].w = w
	}
	s.sel = defaultFilter
	s.segs = s.segs[:0]
	s.n = 0
	s.m1, s.m2, s.m3 = 0, 0, 0
	s.noiseVar = sq(s.cfg.InitialNoise.Seconds())
	s.bias = 0
	s.rejectSince = math.NaN()
	s.runN, s.runSign = 0, 0
	s.stepAllowed = !s.everLocked || s.cfg.StepAfterLock
}

// SetInitialFrequency sets the frequency correction known at start (from the
// drift file) in parts per billion; it only takes effect before the first
// sample.
func (s *Servo) SetInitialFrequency(corrPPB float64) {
	if s.init {
		return
	}
	c := corrPPB * 1e-9
	s.initFreq = 1/(1+c) - 1 // oscillator error the correction cancels
	s.initFreqSD = s.cfg.DriftUncertaintyPPM * 1e-6
}

// MarkLocked tells the servo the loop declared lock: steps are no longer
// allowed unless Config.StepAfterLock.
func (s *Servo) MarkLocked() {
	s.everLocked = true
	if !s.cfg.StepAfterLock {
		s.stepAllowed = false
	}
}

func sq(v float64) float64 { return v * v }

func (s *Servo) sec(t time.Time) float64 { return t.Sub(s.origin).Seconds() }

// ctrl returns the integral of the correction over [a, b].
func (s *Servo) ctrl(a, b float64) float64 {
	u := 0.0
	for i, sg := range s.segs {
		end := math.Inf(1)
		if i+1 < len(s.segs) {
			end = s.segs[i+1].t
		}
		lo, hi := math.Max(a, sg.t), math.Min(b, end)
		if hi > lo {
			u += sg.c * (hi - lo)
		}
	}
	return u
}

// setCorr records the correction c from servo time t on.
func (s *Servo) setCorr(t, c float64) {
	for len(s.segs) > 0 && s.segs[len(s.segs)-1].t >= t {
		s.segs = s.segs[:len(s.segs)-1]
	}
	s.segs = append(s.segs, segment{t, c})
}

// prune drops segments wholly before t.
func (s *Servo) prune(t float64) {
	i := 0
	for i+1 < len(s.segs) && s.segs[i+1].t <= t {
		i++
	}
	s.segs = s.segs[i:]
}

// predict moves filter f from tLast to t (control integral u over the gap).
func predict(f *kalman, dt, u float64) {
	f.x += f.y*dt + (1+f.y)*u
	a := dt + u
	p := f.p
	p00 := p[0][0] + 2*a*p[0][1] + a*a*p[1][1]
	p01 := p[0][1] + a*p[1][1]
	w2 := f.w * f.w
	f.p = [2][2]float64{
		{p00 + w2*dt*dt*dt/3, p01 + w2*dt*dt/2},
		{p01 + w2*dt*dt/2, p[1][1] + w2*dt},
	}
}

// update folds measurement z (phase) with variance r into f.
func update(f *kalman, z, r float64) {
	s := f.p[0][0] + r
	e := z - f.x
	k0, k1 := f.p[0][0]/s, f.p[0][1]/s
	f.x += k0 * e
	f.y += k1 * e
	p00 := f.p[0][0] - k0*k0*s
	p01 := f.p[0][1] - k0*k1*s
	p11 := f.p[1][1] - k1*k1*s
	f.p = [2][2]float64{{math.Max(p00, 0), p01}, {p01, math.Max(p11, 0)}}
}

// Sample folds in one measurement: offset (reference - local) at the local
// reading local, with the source's 1-sigma error errEst (0 if unknown) and
// pulse true for a PPS sample (adaptive noise), false for a coarse one (its
// errEst is trusted). now is the local clock reading at the call.
func (s *Servo) Sample(local time.Time, offset, errEst time.Duration, pulse bool, now time.Time) Action {
	z := -offset.Seconds() // phase: local - reference
	if !s.init {
		return s.acquire(local, offset, errEst, now)
	}
	tk, tn := s.sec(local), s.sec(now)
	dt := tk - s.tLast
	if !(dt > 1e-3) || tn < tk-1 {
		return Action{} // duplicate, out of order or from before a step
	}
	u := s.ctrl(s.tLast, tk)
	for i := range s.bank {
		predict(&s.bank[i], dt, u)
	}
	s.tLast = tk
	s.prune(tk)

	var r float64
	if pulse {
		r = s.noiseVar
	} else {
		r = math.Max(sq(errEst.Seconds()), sq(s.cfg.InitialNoise.Seconds()))
		s.lastExtVar = r
	}
	f := &s.bank[s.sel]
	zc := z
	if pulse {
		zc -= s.bias
	}
	e := zc - f.x
	sd := math.Sqrt(f.p[0][0] + r)
	gate := s.cfg.OutlierGate * sd
	if dt > 10*s.cfg.PulsePeriod.Seconds() {
		// After a gap, any filter of the bank may be the one that explains it.
		wide := &s.bank[len(s.bank)-1]
		gate = math.Max(gate, s.cfg.OutlierGate*math.Sqrt(wide.p[0][0]+r))
	}
	act := Action{Innovation: durationOf(-e)}
	s.lastInnovation = e

	// A run of same-sign innovations beyond 3 sigma that a physical
	// oscillator can produce (not a wrong second) means the frequency
	// changed: widen the filters so they follow at once.
	big := math.Abs(e) > 3*sd && math.Abs(e) < 1e-3
	sign := 1
	if e < 0 {
		sign = -1
	}
	if big && sign == s.runSign {
		s.runN++
	} else if big {
		s.runSign, s.runN = sign, 1
	} else {
		s.runN, s.runSign = 0, 0
	}
	if s.runN >= 4 {
		for i := range s.bank {
			b := &s.bank[i]
			b.p[0][0] += e * e
			b.p[1][1] += sq(e / (2 * s.cfg.PulsePeriod.Seconds()))
		}
		s.runN, s.runSign = 0, 0
		sd = math.Sqrt(f.p[0][0] + r)
		gate = s.cfg.OutlierGate * sd
	}

	if math.Abs(e) > gate {
		s.rej++
		// The noise estimate still learns, winsorised, so a too small
		// estimate cannot lock every sample out.
		if pulse {
			s.learnNoise(math.Copysign(gate, e), f.p[0][0], true)
		}
		if math.IsNaN(s.rejectSince) {
			s.rejectSince = tk
		} else if tk-s.rejectSince >= s.cfg.ReacquireAfter.Seconds() {
			s.Reset()
			a := s.acquire(local, offset, errEst, now)
			a.Reacquired = true
			return a
		}
		return s.plan(tn, act)
	}
	s.rejectSince = math.NaN()
	s.accepted++
	act.Accepted = true
	if pulse {
		// Score each filter by its prediction error (what the offset at the
		// next pulse will be), then learn the noise from the followed one.
		clip := sq(gate)
		alpha := math.Max(1/float64(s.n+1), 1.0/1500)
		for i := range s.bank {
			b := &s.bank[i]
			b.score += alpha * (math.Min(sq(zc-b.x), clip) - b.score)
		}
		s.learnNoise(z-f.x, f.p[0][0], false)
		if s.n > 300 {
			best := s.sel
			for i := range s.bank {
				if s.bank[i].score < s.bank[best].score*0.995 {
					best = i
				}
			}
			s.sel = best
		}
	}
	for i := range s.bank {
		update(&s.bank[i], zc, r)
	}
	return s.plan(tn, act)
}

// learnNoise updates the innovation moments with e (raw, before bias
// removal) and derives the sample variance and the one-sided latency bias.
func (s *Servo) learnNoise(e, prior float64, clipped bool) {
	s.n++
	a := math.Max(1/float64(s.n), 1.0/600)
	s.m1 += a * (e - s.m1)
	s.m2 += a * (e*e - s.m2)
	s.m3 += a * (e*e*e - s.m3)
	v := s.m2 - s.m1*s.m1
	s.noiseVar = math.Max(v-prior, sq(1e-9))
	if clipped || s.n < 200 {
		return
	}
	// One-sided latency (exponential tail, BENCHMARKS S5) shows as positive
	// skew of the phase innovations; an exponentially modified Gaussian has
	// third central moment 2*tau^3, and its floor sits tau below the mean.
	m3c := s.m3 - 3*s.m1*s.m2 + 2*s.m1*s.m1*s.m1
	skew := m3c / math.Pow(v, 1.5)
	if skew > 0.5 {
		s.bias = math.Min(math.Cbrt(m3c/2), math.Sqrt(v))
	} else {
		s.bias = 0
	}
}

// acquire starts the filters on the first sample, stepping when allowed and
// the offset is beyond the threshold.
func (s *Servo) acquire(local time.Time, offset, errEst time.Duration, now time.Time) Action {
	s.origin = local
	s.init = true
	s.tLast = 0
	s.segs = s.segs[:0]
	r := math.Max(sq(errEst.Seconds()), s.noiseVar)
	act := Action{Accepted: true, Innovation: offset}
	x := -offset.Seconds()
	if s.stepAllowed && (offset > s.cfg.StepThreshold || offset < -s.cfg.StepThreshold) {
		act.Step = offset
		s.steps++
		s.stepAllowed = s.cfg.StepAfterLock
		x = 0
		// The step moves the local timescale: servo times shift with it.
		s.origin = local.Add(offset)
		now = now.Add(offset)
	}
	for i := range s.bank {
		b := &s.bank[i]
		b.x, b.y = x, s.initFreq
		b.p = [2][2]float64{{r, 0}, {0, sq(s.initFreqSD)}}
		b.score = 0
	}
	s.accepted++
	return s.plan(s.sec(now), act)
}

// plan sets the correction so that the predicted phase at the next pulse is
// zero: the phase estimate is folded into the next interval's frequency.
func (s *Servo) plan(tn float64, act Action) Action {
	f := &s.bank[s.sel]
	period := s.cfg.PulsePeriod.Seconds()
	target := s.tLast + period
	for target-tn < 0.25*period {
		target += period
	}
	xNow := f.x + f.y*(tn-s.tLast) + (1+f.y)*s.ctrl(s.tLast, tn)
	h := target - tn
	c := -(xNow + f.y*h) / ((1 + f.y) * h)
	lim := s.cfg.MaxSlewPPM * 1e-6
	c = math.Max(-lim, math.Min(lim, c))
	s.setCorr(tn, c)
	s.until = target
	act.SetFreq = true
	act.FreqPPB = c * 1e9
	return act
}

// Tick lets the servo hold over between samples: once the planned slew has
// reached its target without a newer sample, it steers on the prediction
// (the frozen frequency estimate). now is the local clock reading.
func (s *Servo) Tick(now time.Time) Action {
	if !s.init {
		return Action{}
	}
	tn := s.sec(now)
	if tn < s.until {
		return Action{}
	}
	// Re-anchor the plan at the last pulse the filters saw; plan aims one
	// period past now.
	f := &s.bank[s.sel]
	period := s.cfg.PulsePeriod.Seconds()
	xNow := f.x + f.y*(tn-s.tLast) + (1+f.y)*s.ctrl(s.tLast, tn)
	h := period
	c := -(xNow + f.y*h) / ((1 + f.y) * h)
	lim := s.cfg.MaxSlewPPM * 1e-6
	c = math.Max(-lim, math.Min(lim, c))
	s.setCorr(tn, c)
	s.until = tn + h
	return Action{SetFreq: true, FreqPPB: c * 1e9}
}

// Initialized reports whether the servo has acquired the reference.
func (s *Servo) Initialized() bool { return s.init }

// Predict returns the predicted offset (reference - local) at local time now
// and its 1-sigma uncertainty.
func (s *Servo) Predict(now time.Time) (offset, sigma time.Duration) {
	if !s.init {
		return 0, 0
	}
	f := s.bank[s.sel]
	tn := s.sec(now)
	dt := tn - s.tLast
	u := s.ctrl(s.tLast, tn)
	if dt > 0 {
		predict(&f, dt, u)
	}
	return durationOf(-f.x), durationOf(math.Sqrt(f.p[0][0]))
}

// Stats returns the current estimates.
func (s *Servo) Stats() ServoStats {
	f := s.bank[s.sel]
	return ServoStats{
		Offset:       durationOf(-f.x),
		FreqPPB:      f.y * 1e9,
		OffsetSigma:  durationOf(math.Sqrt(f.p[0][0])),
		FreqSigmaPPB: math.Sqrt(f.p[1][1]) * 1e9,
		Noise:        durationOf(math.Sqrt(s.noiseVar)),
		LatencyBias:  durationOf(s.bias),
		Wander:       f.w,
		Accepted:     s.accepted,
		Rejected:     s.rej,
		Steps:        s.steps,
	}
}

// FreqCorrectionPPB returns the correction that cancels the estimated
// oscillator frequency (what the drift file stores), and whether the servo
// has an estimate.
func (s *Servo) FreqCorrectionPPB() (float64, bool) {
	if !s.init {
		return 0, false
	}
	y := s.bank[s.sel].y
	return (1/(1+y) - 1) * 1e9, true
}
