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
	pad := 0.5 * (m.tMax - m.tMin)
	lo, hi := m.tMin-pad, m.tMax+pad
	clamp := func(v float64) float64 { return math.Max(lo, math.Min(hi, v)) }
	return m.Predict(clamp(toC)) - m.Predict(clamp(fromC))
}

// Temperature plausibility: readings outside are taken for a broken sensor.
const (
	minTempC = -60
	maxTempC = 150
)

// tempSmoothS is the time constant (seconds) of the smoothing of the
// temperature readings the servo uses: it averages a sensor's noise and
// quantisation steps down, and is of the order of the frequency filters'
// own memory, so the temperature and the frequency estimate it is paired
// with describe the same past.
const tempSmoothS = 60

// maxLearnFreqSigma is the largest 1-sigma uncertainty (fractional) of the
// servo's frequency estimate the learner accepts: after a gap or an
// acquisition the estimate is not yet worth learning from.
const maxLearnFreqSigma = 200e-9

// tempComp is the servo's temperature compensation state: the readings, the
// learner and the holdover feed-forward (see tempcomp.go's Servo methods).
type tempComp struct {
	model    *TempModel // nil until a temperature is seen
	ok       bool       // the last reading was valid
	smoothC  float64    // smoothed temperature, °C
	smoothAt float64    // unix seconds of the last reading folded in
	// sampleC is the smoothed temperature at the last pulse the filters
	// were moved to: the temperature their frequency belongs to.
	sampleC float64
	// Holdover: active while Tick steers on the prediction.
	hold    bool
	holdAt  float64 // unix seconds the integral has reached
	holdX   float64 // phase of the modelled frequency change since the last pulse (seconds)
	holdDY  float64 // modelled frequency change in force (fractional)
	holdOff bool    // the model was not trusted when the holdover began
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
	if tc.model == nil {
		tc.model = NewTempModel(DefaultTempModelConfig())
		tc.smoothC, tc.smoothAt, tc.sampleC = celsius, t, celsius
		return
	}
	dt := t - tc.smoothAt
	if !(dt > 0) || dt > 10*tempSmoothS {
		// Out of order, a step of the clock, or a long silence: restart.
		tc.smoothC, tc.smoothAt = celsius, t
		return
	}
	a := 1 - math.Exp(-dt/tempSmoothS)
	tc.smoothC += a * (celsius - tc.smoothC)
	tc.smoothAt = t
}

// TempFit returns the temperature model's fit (zero when no temperature
// was ever given).
func (s *Servo) TempFit() TempFit {
	if s.tc.model == nil {
		return TempFit{}
	}
	return s.tc.model.Fit()
}

// learnTemperature folds the current frequency estimate into the model;
// the loop calls it after each accepted sample while locked.
func (s *Servo) learnTemperature(now time.Time) {
	tc := &s.tc
	if tc.model == nil || !tc.ok || !s.init {
		return
	}
	f := s.est()
	if math.Sqrt(f.p[1][1]) > maxLearnFreqSigma {
		return
	}
	tc.model.Add(unixSec(now), tc.smoothC, f.y*1e9)
}

// tempResume is called when the filters have been moved to a new pulse:
// the phase and frequency change the model predicted over a holdover are
// folded into every filter, and the temperature their frequency now
// belongs to is recorded.
func (s *Servo) tempResume() {
	tc := &s.tc
	if tc.model == nil {
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
		tc.sampleC = tc.smoothC
	}
}

// tempHoldover returns the oscillator frequency to hold over with at local
// time now, starting from the frozen estimate y, and the phase (seconds)
// the modelled change of frequency since the last pulse has added: y plus
// model(temperature now) - model(temperature at the last pulse), when the
// model is trusted; y and 0 otherwise.
func (s *Servo) tempHoldover(y float64, now time.Time) (float64, float64) {
	tc := &s.tc
	if tc.model == nil {
		return y, 0
	}
	t := unixSec(now)
	if !tc.hold {
		tc.hold, tc.holdAt, tc.holdX, tc.holdDY = true, t, 0, 0
		tc.holdOff = !tc.model.Fit().Trusted
	}
	if tc.holdOff {
		return y, 0
	}
	if dt := t - tc.holdAt; dt > 0 {
		tc.holdX += tc.holdDY * dt
		tc.holdAt = t
	}
	if tc.ok {
		tc.holdDY = tc.model.Delta(tc.sampleC, tc.smoothC) * 1e-9
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
