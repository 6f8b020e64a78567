package discipline

import (
	"math"
	"time"
)

// wanderBank is the set of random-walk frequency noise levels (fractional
// per square-root second) the servo's filters assume; the servo steers by
// their mixture, weighted by how likely each made the pulses seen (doc.go).
var wanderBank = geometric(1e-11, 1e-6, 4)

// geometric returns lo, lo·10^(1/perDecade), ... up to hi (included).
func geometric(lo, hi float64, perDecade int) []float64 {
	n := int(math.Round(math.Log10(hi/lo)*float64(perDecade))) + 1
	out := make([]float64, n)
	for i := range out {
		out[i] = lo * math.Pow(10, float64(i)/float64(perDecade))
	}
	return out
}

// noisePrior is the weight, in samples, of the initial noise guess.
const noisePrior = 20

// freqRun is the run of same-sign innovations beyond 3 sd that is taken for
// a frequency change; freqRamp the shorter run that is, when its
// innovations grow one after another beyond the gate (doc.go).
const (
	freqRun  = 4
	freqRamp = 3
)

// gentleSpan is the longest a phase error is slewed away at
// Config.MaxPhaseSlewPPM (seconds): a larger error is first pulled in at
// Config.MaxSlewPPM to what the gentle slew removes in gentleSpan.
const gentleSpan = 60

// forget is the time constant, in samples, of the bank's likelihood memory.
const forget = 3000

// kalman is one two-state filter: phase x (local - reference, seconds) at
// the servo time t, oscillator frequency y (fractional, before correction).
type kalman struct {
	w    float64 // assumed wander
	x, y float64
	p    [2][2]float64
	ll   float64 // exponentially forgetting log-likelihood of the pulses seen
	wt   float64 // posterior weight in the mixture
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
	// DriftDiscarded is true when the re-acquisition also dropped the drift
	// file's frequency: the servo never locked with it, so it was wrong.
	DriftDiscarded bool
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
	// Wander is the random-walk level of the mixture (weighted geometric mean).
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
	segs   []segment // corrections in force since tLast
	until  float64   // servo time the current slew targets

	initFreq   float64 // oscillator frequency assumed at start (fractional)
	lastCorr   float64 // correction last set (or in force at start)
	initFreqSD float64

	// Noise estimation from second differences of consecutive pulse phases.
	n             int
	m2, m3        float64 // EW moments of the second differences of pulse phases
	hPrev, zPrev  float64 // previous control-corrected phase step and phase
	tPrev         float64 // servo time of the previous pulse sample (NaN: none)
	hOK           bool    // hPrev is valid
	rejN          int     // recent noise-learning rejections (decays)
	noiseVar      float64 // estimated total sample variance
	bias          float64 // estimated mean latency (phase units, seconds)
	rejectSince   float64 // servo time of the first of consecutive rejections, or NaN
	runSign, runN int     // consecutive large innovations of one sign
	runFirst      float64 // the first of them
	ramp          bool    // all beyond the gate, each larger than the first
	accepted, rej int
	steps         int
	stepAllowed   bool
	everLocked    bool
	// fromDrift: the starting frequency came from SetInitialFrequency and
	// the servo has not locked since.
	fromDrift bool
	// hold is the longer-horizon frequency estimate used in holdover;
	// holding is true (and holdY the frequency held) from the first Tick
	// past holdAfter pulse periods without a sample until the next sample.
	hold    holdFreq
	holding bool
	holdY   float64
	// tc is the temperature compensation (tempcomp.go).
	tc tempComp
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
		f := s.est()
		s.initFreq = f.y
		s.initFreqSD = math.Max(math.Sqrt(f.p[1][1]), 1e-6)
	}
	s.init = false
	s.bank = make([]kalman, len(wanderBank))
	for i, w := range wanderBank {
		s.bank[i].w = w
	}
	s.weigh()
	s.segs = s.segs[:0]
	s.n = 0
	s.m3 = 0
	s.tPrev, s.hOK, s.rejN = math.NaN(), false, 0
	s.noiseVar = sq(s.cfg.InitialNoise.Seconds())
	s.m2 = 6 * s.noiseVar
	s.bias = 0
	s.rejectSince = math.NaN()
	s.runN, s.runSign = 0, 0
	s.stepAllowed = !s.everLocked || s.cfg.StepAfterLock
	s.tc.hold = false
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
	s.lastCorr = c
	s.initFreqSD = s.cfg.DriftUncertaintyPPM * 1e-6
	s.fromDrift = true
}

// discardDrift forgets a starting frequency the servo could not lock with:
// it restarts from 0 ppm with the uncertainty of no drift file.
func (s *Servo) discardDrift() {
	s.initFreq, s.lastCorr = 0, 0
	s.initFreqSD = s.cfg.InitialFreqUncertaintyPPM * 1e-6
	s.fromDrift = false
}

// MarkLocked tells the servo the loop declared lock: steps are no longer
// allowed unless Config.StepAfterLock.
func (s *Servo) MarkLocked() {
	s.everLocked = true
	s.fromDrift = false
	if !s.cfg.StepAfterLock {
		s.stepAllowed = false
	}
}

func sq(v float64) float64 { return v * v }

func (s *Servo) sec(t time.Time) float64 { return t.Sub(s.origin).Seconds() }

// weigh turns the filters' log-likelihoods into mixture weights.
func (s *Servo) weigh() {
	top := math.Inf(-1)
	for _, b := range s.bank {
		top = math.Max(top, b.ll)
	}
	sum := 0.0
	for i := range s.bank {
		s.bank[i].wt = math.Exp(s.bank[i].ll - top)
		sum += s.bank[i].wt
	}
	for i := range s.bank {
		s.bank[i].wt /= sum
	}
}

// est returns the mixture of the bank: weighted state, covariance including
// the spread of the filters, and the weighted (geometric) wander.
func (s *Servo) est() *kalman {
	var m kalman
	lw := 0.0
	for _, b := range s.bank {
		m.x += b.wt * b.x
		m.y += b.wt * b.y
		lw += b.wt * math.Log(b.w)
	}
	for _, b := range s.bank {
		dx, dy := b.x-m.x, b.y-m.y
		m.p[0][0] += b.wt * (b.p[0][0] + dx*dx)
		m.p[0][1] += b.wt * (b.p[0][1] + dx*dy)
		m.p[1][1] += b.wt * (b.p[1][1] + dy*dy)
	}
	m.p[1][0] = m.p[0][1]
	m.w = math.Exp(lw)
	return &m
}

// advance returns the phase change over the local interval [a, b] for an
// oscillator frequency y under the recorded corrections, and its derivative
// in y. Over a local span L with correction c the true time elapsed is
// L/((1+y)(1+c)), so the phase (local - true) grows by L - L/((1+y)(1+c)).
func (s *Servo) advance(y, a, b float64) (dx, dy float64) {
	for i, sg := range s.segs {
		start := sg.t
		if i == 0 {
			start = math.Inf(-1)
		}
		end := math.Inf(1)
		if i+1 < len(s.segs) {
			end = s.segs[i+1].t
		}
		lo, hi := math.Max(a, start), math.Min(b, end)
		if hi > lo {
			l := hi - lo
			g := (1 + y) * (1 + sg.c)
			dx += l - l/g
			dy += l / (g * (1 + y))
		}
	}
	if len(s.segs) == 0 && b > a {
		dx = (b - a) * (1 - 1/(1+y))
		dy = (b - a) / sq(1+y)
	}
	return dx, dy
}

// setCorr records the correction c from servo time t on.
func (s *Servo) setCorr(t, c float64) {
	for len(s.segs) > 0 && s.segs[len(s.segs)-1].t >= t {
		s.segs = s.segs[:len(s.segs)-1]
	}
	s.segs = append(s.segs, segment{t, c})
	s.lastCorr = c
}

// prune drops segments wholly before t.
func (s *Servo) prune(t float64) {
	i := 0
	for i+1 < len(s.segs) && s.segs[i+1].t <= t {
		i++
	}
	s.segs = s.segs[i:]
}

// predict moves filter f forward by the local interval dt, over which the
// corrections advance the phase by dx with derivative dy in the frequency.
func predict(f *kalman, dt, dx, dy float64) {
	f.x += dx
	a := dy
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
	ym := s.est().y
	dxm, _ := s.advance(ym, s.tLast, tk)
	ctl := dxm - ym*dt
	s.hold.addControl(dxm - dt*ym/(1+ym))
	s.holding = false
	for i := range s.bank {
		b := &s.bank[i]
		dx, dy := s.advance(b.y, s.tLast, tk)
		predict(b, dt, dx, dy)
	}
	s.tLast = tk
	s.prune(tk)
	s.tempResume()

	var r float64
	if pulse {
		s.learnNoise(z, tk, ctl)
		r = s.noiseVar
	} else {
		r = math.Max(sq(errEst.Seconds()), sq(s.cfg.InitialNoise.Seconds()))
	}
	f := s.est()
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
		// A ramp (all beyond the gate, each larger than the first) is
		// what a frequency change looks like; latency is not ordered so.
		s.ramp = s.ramp && math.Abs(e) > math.Abs(s.runFirst) && math.Abs(e) > gate
	} else if big {
		s.runSign, s.runN, s.runFirst = sign, 1, e
		s.ramp = math.Abs(e) > gate
	} else {
		s.runN, s.runSign = 0, 0
	}
	if s.runN >= freqRun || (s.runN >= freqRamp && s.ramp) {
		for i := range s.bank {
			b := &s.bank[i]
			b.p[0][0] += e * e
			b.p[1][1] += sq(e / (2 * s.cfg.PulsePeriod.Seconds()))
		}
		s.runN, s.runSign = 0, 0
		// The pulses before a frequency change do not describe the
		// frequency after it: the holdover fit starts afresh.
		s.hold.reset()
		f = s.est()
		sd = math.Sqrt(f.p[0][0] + r)
		gate = s.cfg.OutlierGate * sd
	}

	if math.Abs(e) > gate {
		s.rej++
		// A rejected sample moves no filter (learnNoise has its own
		// outlier test); only a long run of them means the reference moved.
		if math.IsNaN(s.rejectSince) {
			s.rejectSince = tk
		} else if tk-s.rejectSince >= s.cfg.ReacquireAfter.Seconds() {
			s.Reset()
			discard := s.fromDrift && !s.everLocked
			if discard {
				s.discardDrift()
			}
			a := s.acquire(local, offset, errEst, now)
			a.Reacquired, a.DriftDiscarded = true, discard
			return a
		}
		return s.plan(tn, act)
	}
	s.rejectSince = math.NaN()
	s.accepted++
	act.Accepted = true
	if pulse && f.p[0][0] < 4*r && f.p[1][1] < r {
		// Each filter's likelihood of this pulse (innovation clipped at
		// the gate) weighs it in the mixture that steers the clock; not
		// while the bank is still converging, when all filters are wrong
		// alike.
		for i := range s.bank {
			b := &s.bank[i]
			si := b.p[0][0] + r
			b.ll = b.ll*(1-1.0/forget) - 0.5*math.Log(si) - 0.5*math.Min(sq(zc-b.x), sq(gate))/si
		}
	}
	for i := range s.bank {
		update(&s.bank[i], zc, r)
	}
	if pulse {
		s.weigh()
		s.hold.add(tk, zc)
	}
	return s.plan(tn, act)
}

// learnNoise learns the sample noise from the pulse phases themselves,
// independently of the filters (so the bank's choice of wander cannot bias
// it): with the known corrections removed, the phase step between
// consecutive pulses is g = y + v[k+1] - v[k], and the second difference
// h = g[k+1] - g[k] = (y[k+1]-y[k]) + v[k+2] - 2v[k+1] + v[k] has variance
// 6 var(v) (+ W^2, negligible) and third moment -6 m3(v). z is the pulse's
// phase at servo time t; ctl is the phase the corrections added since the
// previous pulse (beyond the oscillator's own y*dt).
func (s *Servo) learnNoise(z, t, ctl float64) {
	period := s.cfg.PulsePeriod.Seconds()
	consecutive := !math.IsNaN(s.tPrev) && math.Abs(t-s.tPrev-period) < 0.1*period
	g := z - s.zPrev - ctl
	s.zPrev, s.tPrev = z, t
	if !consecutive {
		s.hOK = false
		return
	}
	if !s.hOK {
		s.hPrev, s.hOK = g, true
		return
	}
	h := g - s.hPrev
	s.hPrev = g
	sd := math.Sqrt(6 * s.noiseVar)
	if math.Abs(h) > 8*sd {
		// An outlier (or the estimate is far too small: if most are
		// rejected, widen it).
		s.rejN += 2
		if s.rejN > 20 {
			s.noiseVar *= 4
			s.rejN = 0
		}
		return
	}
	if s.rejN > 0 {
		s.rejN--
	}
	s.n++
	// The initial guess counts as noisePrior samples, so the first few
	// differences cannot shrink the estimate (and the gate) by chance.
	a := math.Max(1/float64(s.n+noisePrior), 1.0/1000)
	s.m2 += a * (h*h - s.m2)
	// The third moment is noisier: a longer memory.
	s.m3 += math.Max(1/float64(s.n), 1.0/3000) * (h*h*h - s.m3)
	s.noiseVar = math.Max(s.m2/6, sq(1e-9))
	if s.n < 500 {
		return
	}
	// One-sided latency (exponential tail, BENCHMARKS S5) shows as positive
	// skew of the pulse noise; an exponentially modified Gaussian has third
	// central moment 2*tau^3, and its floor sits tau below its mean.
	m3 := -s.m3 / 6
	skew := m3 / math.Pow(s.noiseVar, 1.5)
	// Hysteresis: on above 0.5, off below 0.2 (Gaussian noise: 0 ± 0.1).
	if skew > 0.5 || (s.bias > 0 && skew > 0.2) {
		s.bias = math.Min(math.Cbrt(m3/2), math.Sqrt(s.noiseVar))
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
	s.hold.reset()
	s.holding = false
	s.segs = append(s.segs[:0], segment{0, s.lastCorr})
	if errEst > 0 && s.n == 0 {
		// The source's own precision is the best guess until measured.
		s.noiseVar = sq(errEst.Seconds())
		s.m2 = 6 * s.noiseVar
	}
	r := s.noiseVar
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
		b.ll = 0
	}
	s.accepted++
	s.weigh()
	return s.plan(s.sec(now), act)
}

// plan sets the correction so that the predicted phase at the next pulse is
// zero: the phase estimate is folded into the next interval's frequency.
func (s *Servo) plan(tn float64, act Action) Action {
	f := s.est()
	period := s.cfg.PulsePeriod.Seconds()
	dx, _ := s.advance(f.y, s.tLast, tn)
	xNow := f.x + dx
	// Reference (true) time now and of the next pulse, in servo units.
	refNow := tn - xNow
	target := s.tLast - f.x + period
	for target-refNow < 0.25*period {
		target += period
	}
	c := s.steer(f.y, xNow, target-refNow)
	s.setCorr(tn, c)
	s.until = tn + (target - refNow)
	act.SetFreq = true
	act.FreqPPB = c * 1e9
	return act
}

// steer returns the correction that brings phase x to zero over the true
// interval d for oscillator frequency y: (1+y)(1+c) = 1 - x/d, limited by
// MaxPhaseSlewPPM around the frequency correction once locked and by
// MaxSlewPPM always.
func (s *Servo) steer(y, x, d float64) float64 {
	c := (1-x/d)/(1+y) - 1
	if s.everLocked {
		// Once locked, phase is removed at a bounded slew beyond the
		// frequency correction (Config.MaxPhaseSlewPPM). An error that
		// would take longer than gentleSpan so (the reference moved, not
		// holdover drift) is pulled in at MaxSlewPPM until it would not.
		cf, pl := 1/(1+y)-1, s.cfg.MaxPhaseSlewPPM*1e-6
		if math.Abs(x) <= pl*gentleSpan {
			c = math.Max(cf-pl, math.Min(cf+pl, c))
		} else {
			// Aim at the edge of the gentle range.
			edge := math.Copysign(pl*gentleSpan, x)
			c = (1-(x-edge)/d)/(1+y) - 1
		}
	}
	lim := s.cfg.MaxSlewPPM * 1e-6
	return math.Max(-lim, math.Min(lim, c))
}

// Tick lets the servo hold over between samples: once the planned slew has
// reached its target without a newer sample, it steers on the prediction
// (in holdover the frequency holdFreqY freezes). now is the local clock reading.
func (s *Servo) Tick(now time.Time) Action {
	if !s.init {
		return Action{}
	}
	tn := s.sec(now)
	if tn < s.until {
		return Action{}
	}
	f := s.est()
	period := s.cfg.PulsePeriod.Seconds()
	y0 := s.holdFreqY(f, tn)
	dx, _ := s.advance(y0, s.tLast, tn)
	// The temperature model moves the held frequency with the
	// temperature since the outage began (tempcomp.go).
	y, hx := s.tempHoldover(y0, now)
	c := s.steer(y, f.x+dx+hx, period)
	s.setCorr(tn, c)
	s.until = tn + period
	return Action{SetFreq: true, FreqPPB: c * 1e9}
}

// holdAfter is how many pulse periods without a sample make holdover: the
// gap beyond which Sample also widens its gate (any filter may explain it).
const holdAfter = 10

// holdFreqY returns the oscillator frequency to steer on at servo time tn:
// the tracking estimate f.y while samples arrive, and from holdAfter pulse
// periods without one the least-squares frequency of the last locked pulses
// over the window the measured noise and wander call for (holdfreq.go),
// frozen until the next sample.
func (s *Servo) holdFreqY(f *kalman, tn float64) float64 {
	period := s.cfg.PulsePeriod.Seconds()
	if tn-s.tLast <= holdAfter*period {
		return f.y
	}
	if !s.holding {
		s.holding, s.holdY = true, f.y
		n := holdWindow(s.noiseVar, f.w, period)
		if g, ok := s.hold.slope(n); ok && g < 1 {
			// The fit is used when it agrees with the tracking estimate
			// within their errors (holdWindow's two terms and the bank's
			// frequency variance, 3 sd): a disagreement means the
			// frequency moved inside the window, which the fit does not
			// model and the tracking filters followed.
			y := g / (1 - g)
			v := 12*s.noiseVar/(n*n*n/period) + 13.0/35*f.w*f.w*n + f.p[1][1]
			if sq(y-f.y) <= 9*v {
				s.holdY = y
			}
		}
	}
	return s.holdY
}

// Initialized reports whether the servo has acquired the reference.
func (s *Servo) Initialized() bool { return s.init }

// Predict returns the predicted offset (reference - local) at local time now
// and its 1-sigma uncertainty.
func (s *Servo) Predict(now time.Time) (offset, sigma time.Duration) {
	if !s.init {
		return 0, 0
	}
	f := s.est()
	tn := s.sec(now)
	dt := tn - s.tLast
	if dt > 0 {
		dx, dy := s.advance(f.y, s.tLast, tn)
		predict(f, dt, dx, dy)
	}
	return durationOf(-f.x), durationOf(math.Sqrt(f.p[0][0]))
}

// Stats returns the current estimates.
func (s *Servo) Stats() ServoStats {
	f := s.est()
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
	y := s.est().y
	return (1/(1+y) - 1) * 1e9, true
}
