package refclock

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

// FilterConfig tunes the PPS outlier filter.
type FilterConfig struct {
	// Window is how many recent accepted samples the trend and spread are
	// estimated from.
	Window int
	// MinSamples: with fewer accepted samples in the window than this,
	// every sample is accepted (after a cold start or a reset).
	MinSamples int
	// K is the rejection threshold in robust standard deviations
	// (1.4826 x the median absolute deviation from the trend).
	K float64
	// MinThreshold is the smallest rejection threshold, so a quiet source
	// (MAD near zero) and the servo's own corrections do not cause rejections.
	MinThreshold time.Duration
	// RelThreshold widens the threshold to this fraction of the predicted
	// offset's size: while the servo pulls a large offset in, the offsets
	// curve faster than a line follows, and an error small against the
	// offset itself is no gross outlier.
	RelThreshold float64
	// Agree: this many consecutive rejected samples that agree with each
	// other (within the threshold, after the trend) are a real step, not
	// outliers: the window restarts from them and the last is accepted.
	Agree int
	// LateAgree is Agree for a run of samples all later than predicted
	// (offset below the prediction): interrupt latency is one-sided and
	// comes in bursts of consecutive late pulses (interrupt storms, CPU
	// frequency changes), so a late run is taken for a step only when it
	// lasts longer than such a burst. An early run cannot be latency.
	LateAgree int
	// MaxRejects: after this many consecutive rejections the window restarts
	// anyway and the sample is accepted, so the filter can never lock out
	// its source (four times this many for a run of late samples that do
	// not agree: a storm of interrupt latency).
	MaxRejects int
	// MaxGap: a sample this long (local time) after the newest one in the
	// window restarts the window, since the trend no longer extrapolates.
	MaxGap time.Duration
}

// lateStormFactor stretches MaxRejects for a run of late samples that do not
// agree with each other: interrupt storms on a Pi last tens of seconds.
const lateStormFactor = 4

// DefaultFilterConfig returns settings for pulses every second.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{
		Window:       32,
		MinSamples:   6,
		K:            6,
		MinThreshold: 10 * time.Microsecond,
		RelThreshold: 0.1,
		Agree:        3,
		LateAgree:    12,
		MaxRejects:   16,
		MaxGap:       30 * time.Second,
	}
}

func (c FilterConfig) withDefaults() FilterConfig {
	d := DefaultFilterConfig()
	orDefault(&c.Window, d.Window)
	orDefault(&c.MinSamples, d.MinSamples)
	orDefault(&c.K, d.K)
	orDefault(&c.MinThreshold, d.MinThreshold)
	orDefault(&c.RelThreshold, d.RelThreshold)
	orDefault(&c.Agree, d.Agree)
	orDefault(&c.LateAgree, d.LateAgree)
	orDefault(&c.MaxRejects, d.MaxRejects)
	orDefault(&c.MaxGap, d.MaxGap)
	return c
}

// Validate reports a misconfiguration; zero fields are valid (defaults).
func (c FilterConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Window < 3 || c.Window > 1024 {
		errs = append(errs, fmt.Errorf("window %d outside [3, 1024]", c.Window))
	}
	if c.MinSamples < 3 || c.MinSamples > c.Window {
		errs = append(errs, fmt.Errorf("min samples %d outside [3, window %d]", c.MinSamples, c.Window))
	}
	if c.K < 2 || math.IsNaN(c.K) || math.IsInf(c.K, 0) {
		errs = append(errs, fmt.Errorf("threshold K %v below 2: the filter would reject good samples and bias the rest", c.K))
	}
	if c.MinThreshold < 0 || c.MaxGap < 0 {
		errs = append(errs, errors.New("negative MinThreshold or MaxGap"))
	}
	if c.RelThreshold < 0 || c.RelThreshold > 1 || math.IsNaN(c.RelThreshold) {
		errs = append(errs, fmt.Errorf("relative threshold %v outside [0, 1]", c.RelThreshold))
	}
	if c.Agree < 1 || c.MaxRejects < c.Agree {
		errs = append(errs, fmt.Errorf("agree %d must be >= 1 and <= max rejects %d", c.Agree, c.MaxRejects))
	}
	if c.LateAgree < c.Agree || c.MaxRejects < c.LateAgree {
		errs = append(errs, fmt.Errorf("late agree %d must be within agree %d and max rejects %d", c.LateAgree, c.Agree, c.MaxRejects))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refclock: filter config: %w", err)
	}
	return nil
}

// FilterStats counts the filter's decisions.
type FilterStats struct {
	// Accepted and Rejected count samples; Resets counts window restarts
	// (steps recognised, gaps, rejection runs, explicit Reset).
	Accepted, Rejected, Resets uint64
}

// Filter removes gross outliers from PPS samples without delaying them: each
// sample is accepted or rejected at once against the robust trend of the
// last Window accepted samples.
//
// The trend is a resistant line through the newer half of the window (the
// slope between the medians of its two quarters), so the oscillator's
// frequency error and the servo's steering do not look like outliers; the
// prediction for a new sample is the median of those offsets carried along
// that slope to its time, and the spread is 1.4826 x the median absolute
// deviation (MAD) of the whole window from the line, so a curving
// trajectory widens the threshold. A sample further than max(K x spread,
// MinThreshold, RelThreshold x |prediction|) from the prediction is
// rejected. Medians make the prediction and spread insensitive to the
// outliers themselves, and the decision is symmetric with a wide threshold
// (6 sigma by default), so Gaussian noise is not clipped and the accepted
// samples are not biased. One-sided latency (S5's Exp(2 µs)) loses only its
// far tail beyond the 10 µs floor.
//
// A real step (the local clock stepped, the locker renumbered) looks like
// an outlier at first; Agree consecutive rejections that lie on a line of
// their own (within the threshold) restart the window from them, so a cold
// start's step costs Agree-1 samples and is never filtered away. A run of
// late samples only (offsets below the prediction) needs LateAgree: bursts
// of consecutive late pulses are what interrupt latency looks like, so they
// are dropped whole unless they outlast any burst (once the window has
// settled: a full window accepted since its restart). The
// window also restarts after MaxRejects consecutive rejections, after a
// MaxGap gap, and on Reset (call it when the Locker relocks). Filter is pure
// and not safe for concurrent use.
type Filter struct {
	cfg     FilterConfig
	win     []source.Sample // accepted, oldest first
	run     []source.Sample // consecutive rejections, oldest first
	early   bool            // some sample of run lay above its prediction
	settled int             // samples accepted since the window restarted
	stats   FilterStats

	// scratch buffers
	slopes, vals []float64
}

// NewFilter returns a Filter with cfg; zero fields take defaults.
func NewFilter(cfg FilterConfig) *Filter { return &Filter{cfg: cfg.withDefaults()} }

// Stats returns the filter's counters.
func (f *Filter) Stats() FilterStats { return f.stats }

// Reset forgets the window (and any run of rejections).
func (f *Filter) Reset() {
	f.win, f.run, f.early, f.settled = f.win[:0], f.run[:0], false, 0
	f.stats.Resets++
}

// Add judges s: it returns true if s should be used, false if it is a gross
// outlier to drop.
func (f *Filter) Add(s source.Sample) bool {
	if n := len(f.win); n > 0 {
		if gap := s.Local.Sub(f.win[n-1].Local); gap > f.cfg.MaxGap || gap <= 0 {
			f.Reset()
		}
	}
	if len(f.win) < f.cfg.MinSamples {
		return f.accept(s)
	}
	pred, thr := f.predict(s.Local)
	if math.Abs(float64(s.Offset)-pred) <= thr {
		f.run, f.early = f.run[:0], false
		return f.accept(s)
	}
	if len(f.run) == 0 {
		f.early = false
	}
	f.run = append(f.run, s)
	f.early = f.early || float64(s.Offset) > pred
	// Once the window has settled (a full window accepted since its
	// restart; before, the servo may still be pulling a large offset in),
	// a late-only run is held to LateAgree, and one that does not agree is
	// a storm of latency, given lateStormFactor times MaxRejects before the
	// window restarts anyway (the filter still never locks its source out
	// for good).
	agree, maxRun := f.cfg.Agree, f.cfg.MaxRejects
	if !f.early && f.settled >= f.cfg.Window {
		agree, maxRun = f.cfg.LateAgree, maxRun*lateStormFactor
	}
	if len(f.run) >= maxRun || (len(f.run) >= agree && f.runAgrees(agree, thr)) {
		run := append([]source.Sample(nil), f.run[len(f.run)-min(len(f.run), f.cfg.Agree):]...)
		f.Reset()
		// The earlier members were dropped (and counted) already; they seed
		// the new window.
		f.win = append(f.win, run[:len(run)-1]...)
		return f.accept(s)
	}
	f.stats.Rejected++
	return false
}

func (f *Filter) accept(s source.Sample) bool {
	if len(f.win) == f.cfg.Window {
		copy(f.win, f.win[1:])
		f.win = f.win[:len(f.win)-1]
	}
	f.win = append(f.win, s)
	f.settled++
	f.stats.Accepted++
	return true
}

// runAgrees reports whether the last n rejected samples lie on a line
// of their own within thr: a step, or a trajectory the window's trend did
// not foresee (the servo turning a large offset around), rather than
// scattered outliers.
func (f *Filter) runAgrees(n int, thr float64) bool {
	r := f.run[len(f.run)-n:]
	if len(r) < 3 {
		lo, hi := float64(r[0].Offset), float64(r[len(r)-1].Offset)
		return math.Abs(hi-lo) <= thr
	}
	// Least-squares line through the run.
	var st, so, stt, sto float64
	nr := float64(len(r))
	for _, s := range r {
		x := s.Local.Sub(r[0].Local).Seconds()
		y := float64(s.Offset)
		st, so, stt, sto = st+x, so+y, stt+x*x, sto+x*y
	}
	den := nr*stt - st*st
	if den == 0 {
		return false
	}
	b := (nr*sto - st*so) / den
	a := (so - b*st) / nr
	for _, s := range r {
		x := s.Local.Sub(r[0].Local).Seconds()
		if math.Abs(float64(s.Offset)-(a+b*x)) > thr {
			return false
		}
	}
	return true
}

// slopeOf is the robust trend of w in offset nanoseconds per second: the
// line through the medians of its older and newer halves (Tukey's resistant
// line), O(N log N) where Theil-Sen would be O(N^2 log N). ts and offs are
// scratch buffers.
func slopeOf(w []source.Sample, ts, offs *[]float64) float64 {
	n := len(w)
	if n < 2 {
		return 0
	}
	h := n / 2
	t0 := w[0].Local
	half := func(w []source.Sample) (t, off float64) {
		*ts, *offs = (*ts)[:0], (*offs)[:0]
		for _, s := range w {
			*ts = append(*ts, s.Local.Sub(t0).Seconds())
			*offs = append(*offs, float64(s.Offset))
		}
		return median(*ts), median(*offs)
	}
	ta, oa := half(w[:h])
	tb, ob := half(w[n-h:])
	if tb <= ta {
		return 0
	}
	return (ob - oa) / (tb - ta)
}

// predict returns the predicted offset (ns) at local time t and the
// rejection threshold (ns).
func (f *Filter) predict(t time.Time) (pred, thr float64) {
	// The line is fitted to, and anchored at, the newer half of the window,
	// so it follows a curving trajectory (the servo pulling an offset in)
	// instead of extrapolating the older samples' slope; the spread is
	// taken over the whole window, so curvature widens the threshold.
	recent := f.win[len(f.win)-max(len(f.win)/2, min(len(f.win), f.cfg.MinSamples)):]
	slope := slopeOf(recent, &f.vals, &f.slopes)
	f.vals = f.vals[:0]
	for _, s := range recent {
		f.vals = append(f.vals, float64(s.Offset)+slope*t.Sub(s.Local).Seconds())
	}
	pred = median(f.vals)
	f.vals = f.vals[:0]
	for _, s := range f.win {
		f.vals = append(f.vals, math.Abs(float64(s.Offset)+slope*t.Sub(s.Local).Seconds()-pred))
	}
	mad := median(f.vals)
	thr = max(f.cfg.K*1.4826*mad, float64(f.cfg.MinThreshold), f.cfg.RelThreshold*math.Abs(pred))
	return pred, thr
}

// median sorts v in place and returns its median.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
