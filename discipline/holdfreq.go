package discipline

import "math"

// holdHistoryS is the longest span of locked pulses the holdover frequency
// estimator keeps (seconds): the window it chooses never needs more unless
// the wander is below about 1e-12 per square-root second at microsecond noise
// (holdWindow), and an hour of float pairs is 112 KiB.
const holdHistoryS = 3600

// holdFreq is the holdover frequency estimator: the oscillator's free-running
// phase (pulse phase with the servo's own corrections removed) over the last
// locked pulses, fitted by least squares over a window chosen from the
// measured noise and wander. Pure; times and phases in seconds.
type holdFreq struct {
	t, u []float64 // pulse servo times and free-running phases, oldest first
	ctl  float64   // phase the corrections added so far (subtracted from z)
}

// reset forgets the history (a step or re-acquisition moved the timescale).
func (h *holdFreq) reset() {
	h.t, h.u, h.ctl = h.t[:0], h.u[:0], 0
}

// addControl accounts for the phase ctl the corrections added over the
// interval just predicted (beyond the oscillator's own frequency).
func (h *holdFreq) addControl(ctl float64) { h.ctl += ctl }

// add records an accepted pulse: phase z (local - reference, latency bias
// removed) at servo time t.
func (h *holdFreq) add(t, z float64) {
	h.t = append(h.t, t)
	h.u = append(h.u, z-h.ctl)
	if n := len(h.t); h.t[n-1]-h.t[0] > 1.25*holdHistoryS {
		// Drop the oldest quarter at once (amortised O(1) per pulse).
		i := 0
		for i < n && h.t[n-1]-h.t[i] > holdHistoryS {
			i++
		}
		h.t = append(h.t[:0], h.t[i:]...)
		h.u = append(h.u[:0], h.u[i:]...)
	}
}

// holdWindow returns the least-squares window (seconds) that minimises the
// expected error of the fitted frequency as an estimate of the frequency at
// the window's end, for white phase noise of variance noiseVar (s^2) and
// random-walk frequency noise w (per square-root second), with one sample
// per period: the fit's noise variance is 12 noiseVar/(N^3 period) (N the
// span) and its lag behind the end of a random walk 13/35 w^2 N, minimal at
// N = (36*35/13 noiseVar period / w^2)^(1/4). Both terms come from the
// servo's own estimates, not from any assumed noise level.
func holdWindow(noiseVar, w, period float64) float64 {
	if !(w > 0) || !(noiseVar > 0) {
		return holdHistoryS
	}
	n := math.Pow(36*35/13.0*noiseVar*period/(w*w), 0.25)
	return math.Max(10*period, math.Min(holdHistoryS, n))
}

// slope returns the least-squares frequency (fractional) of the free-running
// phase over the last span seconds, and whether at least three pulses and
// half the span were available.
func (h *holdFreq) slope(span float64) (float64, bool) {
	n := len(h.t)
	if n < 3 {
		return 0, false
	}
	end := h.t[n-1]
	i := n - 1
	for i > 0 && end-h.t[i-1] <= span {
		i--
	}
	if n-i < 3 || end-h.t[i] < span/2 {
		return 0, false
	}
	t0, u0 := h.t[i], h.u[i]
	var st, su, stt, stu float64
	for k := i; k < n; k++ {
		x, y := h.t[k]-t0, h.u[k]-u0
		st += x
		su += y
		stt += x * x
		stu += x * y
	}
	m := float64(n - i)
	d := m*stt - st*st
	if !(d > 0) {
		return 0, false
	}
	return (m*stu - st*su) / d, true
}
