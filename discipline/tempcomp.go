package discipline

import (
	"math"
	"time"
)

// TempModel is a pure online learner of the oscillator's frequency error
// against temperature: a quadratic
//
//	freqPPB(T) = A + B*(T-Ref) + C*(T-Ref)^2
//
// fitted by exponentially forgetting recursive least squares to pairs of
// (temperature, servo frequency estimate) taken while locked. It does no
// I/O. The reference temperature Ref is the first temperature seen; the
// model is used through differences (Predict(T) - Predict(T0)), so a
// slowly varying A (ageing, wander) is absorbed by the forgetting and by
// the servo's own frequency estimate.
type TempModel struct {
	cfg TempModelConfig

	ref    float64    // reference temperature, °C
	refSet bool       // ref has been chosen
	theta  [3]float64 // A (PPB), B (PPB/°C), C (PPB/°C²)
	p      [3][3]float64
	n      int     // samples folded in
	ssr    float64 // exponentially forgetting sum of squared residuals (PPB²)
	sw     float64 // exponentially forgetting sum of weights (effective samples)
	lastT  float64 // servo time of the last accepted sample (NaN: none)
	tMin   float64 // temperature span seen within the memory (decaying), °C
	tMax   float64
	spanAt float64 // servo time tMin/tMax were last reset
}

// TempModelConfig tunes a TempModel; the zero value is not valid, start
// from DefaultTempModelConfig.
type TempModelConfig struct {
	// Memory is the forgetting time constant, in seconds of sample time:
	// a sample's weight decays by 1/e after Memory seconds.
	Memory float64
	// Interval is the least spacing between folded-in samples, seconds:
	// consecutive frequency estimates are strongly correlated, so taking
	// one per Interval keeps the fit's uncertainty honest.
	Interval float64
	// MinSamples is the least number of samples before the model is
	// trusted.
	MinSamples int
	// MinSpanC is the least temperature span (°C) seen within Memory
	// before the model is trusted.
	MinSpanC float64
	// MaxSlopeSigmaPPB is the largest 1-sigma uncertainty of the linear
	// coefficient (PPB/°C) for the model to be trusted.
	MaxSlopeSigmaPPB float64
	// PriorSigmaPPB is the prior 1-sigma of the coefficients (PPB, PPB/°C,
	// PPB/°C²): the regularisation of an ill-conditioned start.
	PriorSigmaPPB [3]float64
}

// DefaultTempModelConfig returns the configuration the servo uses: a
// memory of a day, one sample a minute, at least an hour of samples over a
// span of 2 °C.
func DefaultTempModelConfig() TempModelConfig {
	return TempModelConfig{
		Memory:           86400,
		Interval:         60,
		MinSamples:       60,
		MinSpanC:         2,
		MaxSlopeSigmaPPB: 20,
		PriorSigmaPPB:    [3]float64{1e6, 1e4, 1e3},
	}
}

// TempFit is a TempModel's fitted coefficients and their uncertainty.
type TempFit struct {
	// RefC is the reference temperature, °C.
	RefC float64
	// OffsetPPB, SlopePPBPerC and CurvePPBPerC2 are A, B and C of
	// A + B*(T-RefC) + C*(T-RefC)^2, the oscillator frequency error
	// (positive: the clock gains).
	OffsetPPB, SlopePPBPerC, CurvePPBPerC2 float64
	// The 1-sigma uncertainties of the three, scaled by the residual noise.
	OffsetSigmaPPB, SlopeSigmaPPBPerC, CurveSigmaPPBPerC2 float64
	// ResidualPPB is the RMS residual of the fit.
	ResidualPPB float64
	// SpanC is the temperature span seen within the memory.
	SpanC float64
	// Samples counts the samples folded in.
	Samples int
	// Trusted says the fit has enough samples, span and precision to use.
	Trusted bool
	// LagS is the time constant of the smoothing of the temperature the
	// servo's chosen model was fitted against (seconds; 0 for a bare
	// TempModel).
	LagS float64
}

// NewTempModel returns an empty learner.
func NewTempModel(cfg TempModelConfig) *TempModel {
	m := &TempModel{cfg: cfg}
	m.Reset()
	return m
}

// Reset forgets everything learned.
func (m *TempModel) Reset() {
	*m = TempModel{cfg: m.cfg, lastT: math.NaN(), tMin: math.Inf(1), tMax: math.Inf(-1)}
	for i := range 3 {
		m.p[i][i] = sq(m.cfg.PriorSigmaPPB[i])
	}
}

// Add folds in the frequency error freqPPB (oscillator, positive: gains)
// estimated at servo time t (seconds, increasing) and temperature tempC.
// Samples closer than Interval to the last folded-in one are ignored; it
// reports whether the sample was used.
func (m *TempModel) Add(t, tempC, freqPPB float64) bool {
	if math.IsNaN(tempC) || math.IsInf(tempC, 0) || math.IsNaN(freqPPB) || math.IsInf(freqPPB, 0) {
		return false
	}
	if !math.IsNaN(m.lastT) && t-m.lastT < m.cfg.Interval && t >= m.lastT {
		return false
	}
	lam := 1.0
	if !math.IsNaN(m.lastT) && t > m.lastT {
		lam = math.Exp(-(t - m.lastT) / m.cfg.Memory)
	}
	m.lastT = t
	if !m.refSet {
		m.ref, m.refSet = tempC, true
		m.spanAt = t
	}
	// The span decays with the memory: reset the extremes every Memory.
	if t-m.spanAt > m.cfg.Memory {
		m.tMin, m.tMax, m.spanAt = tempC, tempC, t
	}
	m.tMin, m.tMax = math.Min(m.tMin, tempC), math.Max(m.tMax, tempC)

	d := tempC - m.ref
	x := [3]float64{1, d, d * d}
	// Forgetting: P /= lambda (bounded so that an unobserved direction
	// never grows beyond its prior).
	for i := range 3 {
		for j := range 3 {
			m.p[i][j] /= lam
		}
	}
	for i := range 3 {
		if lim := sq(m.cfg.PriorSigmaPPB[i]); m.p[i][i] > lim {
			s := math.Sqrt(lim / m.p[i][i])
			for j := range 3 {
				m.p[i][j] *= s
				m.p[j][i] *= s
			}
		}
	}
	var px [3]float64
	for i := range 3 {
		for j := range 3 {
			px[i] += m.p[i][j] * x[j]
		}
	}
	den := 1.0
	for i := range 3 {
		den += x[i] * px[i]
	}
	e := freqPPB - (m.theta[0] + m.theta[1]*x[1] + m.theta[2]*x[2])
	for i := range 3 {
		k := px[i] / den
		m.theta[i] += k * e
	}
	for i := range 3 {
		for j := range 3 {
			m.p[i][j] -= px[i] * px[j] / den
		}
	}
	// Residual after the update (a posteriori), forgetting alike.
	r := freqPPB - (m.theta[0] + m.theta[1]*x[1] + m.theta[2]*x[2])
	m.ssr = lam*m.ssr + r*e
	m.sw = lam*m.sw + 1
	m.n++
	return true
}

// Fit returns the fitted coefficients and whether they are trusted.
func (m *TempModel) Fit() TempFit {
	f := TempFit{RefC: m.ref, OffsetPPB: m.theta[0], SlopePPBPerC: m.theta[1], CurvePPBPerC2: m.theta[2], Samples: m.n}
	if m.n > 0 {
		f.SpanC = m.tMax - m.tMin
	}
	dof := m.sw - 3
	s2 := 0.0
	if dof > 0 {
		s2 = math.Max(m.ssr, 0) / dof
		f.ResidualPPB = math.Sqrt(math.Max(m.ssr, 0) / m.sw)
	}
	// P is the covariance in units of the noise variance.
	f.OffsetSigmaPPB = math.Sqrt(math.Max(m.p[0][0], 0) * s2)
	f.SlopeSigmaPPBPerC = math.Sqrt(math.Max(m.p[1][1], 0) * s2)
	f.CurveSigmaPPBPerC2 = math.Sqrt(math.Max(m.p[2][2], 0) * s2)
	f.Trusted = dof > 0 && m.n >= m.cfg.MinSamples && f.SpanC >= m.cfg.MinSpanC &&
		f.SlopeSigmaPPBPerC <= m.cfg.MaxSlopeSigmaPPB
	return f
}

// Predict returns the modelled frequency error at tempC (PPB).
func (m *TempModel) Predict(tempC float64) float64 {
	d := tempC - m.ref
	return m.theta[0] + m.theta[1]*d + m.theta[2]*d*d
}

// Delta returns the modelled change of the frequency error from
// temperature fromC to toC (PPB), clamped to the range of temperatures
// seen (widened by half the span), so the quadratic is never extrapolated
// far beyond the data.
func (m *TempModel) Delta(fromC, toC float64) float64 {
	if m.n == 0 {
		return 0
	}
	return m.Predict(m.clamp(toC)) - m.Predict(m.clamp(fromC))
}

// clamp limits tempC to the range seen widened by half the span.
func (m *TempModel) clamp(tempC float64) float64 {
	if m.n == 0 {
		return tempC
	}
	pad := 0.5 * (m.tMax - m.tMin)
	return math.Max(m.tMin-pad, math.Min(m.tMax+pad, tempC))
}

// Temperature plausibility: readings outside are taken for a broken sensor.
const (
	minTempC = -60
	maxTempC = 150
)

// tempLagsS are the time constants (seconds) of the first-order lags the
// temperature readings are smoothed with, one model each: a sensor on the
// SoC leads the crystal by a lag that depends on the board, so the servo
// learns a model for each and uses the one whose fit leaves the smallest
// residual. The lag also averages a sensor's noise and quantisation down.
var tempLagsS = []float64{30, 60, 120, 240, 480}

// maxLearnFreqSigma is the largest 1-sigma uncertainty (fractional) of the
// servo's frequency estimate the learner accepts: after a gap or an
// acquisition the estimate is not yet worth learning from.
const maxLearnFreqSigma = 200e-9

// tempAnchorS is the time constant (seconds) of the average of the
// servo's frequency estimate minus the model's prediction: the part of the
// frequency the temperature does not explain (ageing, wander) changes
// more slowly than the tracking estimate's noise, so holdover starts from
// this average plus the model at the current temperature rather than from
// the last tracking estimate. Five minutes trades the estimate's noise
// against the random walk of the oscillator (at 1e-9/√s it moves about
// 17 ppb in 300 s); BENCHMARKS.md T1-T2 compare 300, 600 and 1200 s.
const tempAnchorS = 300

// tempLag is one smoothed temperature and the model learned against it.
type tempLag struct {
	tau     float64
	smoothC float64 // smoothed temperature, °C
	model   *TempModel
	// resid is the average of the frequency estimate minus the model's
	// prediction (ppb) over tempAnchorS; residOK says it has a value.
	resid   float64
	residOK bool
}

// tempComp is the servo's temperature compensation state: the readings, the
// learners and the holdover feed-forward (see tempcomp.go's Servo methods).
type tempComp struct {
	lags    []tempLag // nil until a temperature is seen
	ok      bool      // the last reading was valid
	readAt  float64   // unix seconds of the last reading folded in
	learnAt float64   // unix seconds of the last residual update (NaN: none)
	use     int       // the lag holdover uses (chosen when it begins)
	hold    bool      // Tick is steering on the prediction
	holdAt  float64   // unix seconds the integral has reached
	holdX   float64   // phase of the frequency change since the last pulse (seconds)
	holdDY  float64   // frequency change in force (fractional)
	holdOff bool      // no model was trusted when the holdover began
	// sampleC is the chosen lag's temperature at the last pulse the
	// filters were moved to (the fallback without a residual average).
	sampleC []float64
}

func unixSec(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// SetTemperature gives the servo the oscillator's temperature (celsius)
// read at the local time now; ok false says there is no valid reading
// (the sensor failed), and the servo then neither learns nor changes the
// holdover compensation in force. A servo never given a temperature
// behaves exactly as without this method.
func (s *Servo) SetTemperature(now time.Time, celsius float64, ok bool) {
	tc := &s.tc
	ok = ok && celsius >= minTempC && celsius <= maxTempC
	tc.ok = ok
	if !ok {
		return
	}
	t := unixSec(now)
	if tc.lags == nil {
		tc.lags = make([]tempLag, len(tempLagsS))
		tc.sampleC = make([]float64, len(tempLagsS))
		for i, tau := range tempLagsS {
			tc.lags[i] = tempLag{tau: tau, smoothC: celsius, model: NewTempModel(DefaultTempModelConfig())}
			tc.sampleC[i] = celsius
		}
		tc.readAt, tc.learnAt = t, math.NaN()
		return
	}
	dt := t - tc.readAt
	tc.readAt = t
	for i := range tc.lags {
		l := &tc.lags[i]
		if !(dt > 0) || dt > 10*l.tau {
			// Out of order, a step of the clock, or a long silence: restart.
			l.smoothC = celsius
			continue
		}
		l.smoothC += (1 - math.Exp(-dt/l.tau)) * (celsius - l.smoothC)
	}
}

// best returns the lag whose trusted model fits best (-1: none trusted).
func (tc *tempComp) best() int {
	b, br := -1, math.Inf(1)
	for i := range tc.lags {
		f := tc.lags[i].model.Fit()
		if f.Trusted && f.ResidualPPB < br {
			b, br = i, f.ResidualPPB
		}
	}
	return b
}

// TempFit returns the best temperature model's fit (zero when no
// temperature was ever given; the first lag's while none is trusted).
func (s *Servo) TempFit() TempFit {
	tc := &s.tc
	if tc.lags == nil {
		return TempFit{}
	}
	b := max(tc.best(), 0)
	f := tc.lags[b].model.Fit()
	f.LagS = tc.lags[b].tau
	return f
}

// learnTemperature folds the current frequency estimate into the models;
// the loop calls it after each accepted sample while locked.
func (s *Servo) learnTemperature(now time.Time) {
	tc := &s.tc
	if tc.lags == nil || !tc.ok || !s.init {
		return
	}
	f := s.est()
	if math.Sqrt(f.p[1][1]) > maxLearnFreqSigma {
		return
	}
	t := unixSec(now)
	dt := t - tc.learnAt
	fresh := dt > 0 && dt < tempAnchorS
	for i := range tc.lags {
		l := &tc.lags[i]
		l.model.Add(t, l.smoothC, f.y*1e9)
		r := f.y*1e9 - l.model.Predict(l.smoothC)
		if fresh && l.residOK {
			l.resid += (1 - math.Exp(-dt/tempAnchorS)) * (r - l.resid)
		} else {
			l.resid, l.residOK = r, true
		}
	}
	tc.learnAt = t
}

// tempResume is called when the filters have been moved to a new pulse:
// the phase and frequency change the model predicted over a holdover are
// folded into every filter, and the temperature their frequency now
// belongs to is recorded.
func (s *Servo) tempResume() {
	tc := &s.tc
	if tc.lags == nil {
		return
	}
	if tc.hold && !tc.holdOff {
		for i := range s.bank {
			s.bank[i].x += tc.holdX
			s.bank[i].y += tc.holdDY
		}
	}
	tc.hold = false
	if tc.ok {
		for i := range tc.lags {
			tc.sampleC[i] = tc.lags[i].smoothC
		}
	}
}

// tempHoldover returns the oscillator frequency to hold over with at local
// time now, given the frozen estimate y, and the phase (seconds) the
// difference between the two has added since the last pulse. When a model
// is trusted the frequency is model(temperature now) plus the average of
// what the model did not explain; otherwise y and 0.
func (s *Servo) tempHoldover(y float64, now time.Time) (float64, float64) {
	tc := &s.tc
	if tc.lags == nil {
		return y, 0
	}
	t := unixSec(now)
	if !tc.hold {
		tc.hold, tc.holdAt, tc.holdX, tc.holdDY = true, t, 0, 0
		tc.use = tc.best()
		tc.holdOff = tc.use < 0
	}
	if tc.holdOff {
		return y, 0
	}
	if dt := t - tc.holdAt; dt > 0 {
		tc.holdX += tc.holdDY * dt
		tc.holdAt = t
	}
	if tc.ok {
		l := &tc.lags[tc.use]
		if l.residOK {
			tc.holdDY = (l.model.Predict(l.model.clamp(l.smoothC))+l.resid)*1e-9 - y
		} else {
			tc.holdDY = l.model.Delta(tc.sampleC[tc.use], l.smoothC) * 1e-9
		}
	}
	return y + tc.holdDY, tc.holdX
}

// SetTemperature gives the discipline the oscillator's temperature in
// degrees Celsius (ok false: no valid reading now). The servo learns the
// oscillator's frequency against it while locked and follows the learned
// model in holdover (tempcomp.go); without temperatures the loop behaves
// as it always did.
func (l *Loop) SetTemperature(celsius float64, ok bool) {
	l.servo.SetTemperature(l.clk.Now(), celsius, ok)
}

// TempFit returns the learned temperature model's fit.
func (l *Loop) TempFit() TempFit { return l.servo.TempFit() }
