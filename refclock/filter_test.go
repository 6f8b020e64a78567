package refclock

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

// filterRun feeds n samples, one a second, with offset(k) and returns which
// were accepted.
func filterRun(f *Filter, n int, offset func(k int) time.Duration) []bool {
	acc := make([]bool, n)
	for k := 0; k < n; k++ {
		acc[k] = f.Add(source.Sample{Local: t0.Add(time.Duration(k) * time.Second), Offset: offset(k), Kind: source.KindPPS, RefID: ntp.RefIDPPS})
	}
	return acc
}

func TestFilterNoiseNotClippedNorBiased(t *testing.T) {
	tests := []struct {
		name     string
		sigma    float64 // ns
		driftPPM float64
		maxRej   int // of 14400
	}{
		{"kernel PPS 1 µs, 30 ppm drift", 1e3, 30, 2},
		{"GPIO 20 µs, no drift", 20e3, 0, 2},
		{"GPIO 20 µs, -50 ppm drift", 20e3, -50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			const n = 14400
			noise := make([]float64, n)
			f := NewFilter(FilterConfig{})
			acc := filterRun(f, n, func(k int) time.Duration {
				noise[k] = rng.NormFloat64() * tc.sigma
				return time.Duration(tc.driftPPM*1e3*float64(k) + noise[k])
			})
			rej, sum, cnt := 0, 0.0, 0
			for k, a := range acc {
				if !a {
					rej++
					continue
				}
				sum += noise[k]
				cnt++
			}
			if rej > tc.maxRej {
				t.Errorf("rejected %d of %d Gaussian samples, want <= %d", rej, n, tc.maxRej)
			}
			if mean := sum / float64(cnt); math.Abs(mean) > 3*tc.sigma/math.Sqrt(float64(cnt)) {
				t.Errorf("accepted noise mean %.1f ns: biased", mean)
			}
		})
	}
}

func TestFilterS5(t *testing.T) {
	// Pulses late by Exp(mean 2 µs) plus 1 µs jitter; 2% a further 50-200 µs.
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 14400
	gross := make([]bool, n)
	lat := make([]float64, n)
	f := NewFilter(FilterConfig{})
	acc := filterRun(f, n, func(k int) time.Duration {
		l := rng.ExpFloat64()*2e3 + rng.NormFloat64()*1e3
		lat[k] = l
		if rng.Float64() < 0.02 {
			gross[k] = true
			l += 50e3 + rng.Float64()*150e3
		}
		return time.Duration(-l) // a late edge makes reference - local negative
	})
	var missed, dropped, ngross int
	var sumAcc, sumClean float64
	var nAcc, nClean int
	for k := range acc {
		if gross[k] {
			ngross++
			if acc[k] {
				missed++
			}
			continue
		}
		sumClean += lat[k]
		nClean++
		if !acc[k] {
			dropped++
			continue
		}
		sumAcc += lat[k]
		nAcc++
	}
	if missed != 0 {
		t.Errorf("%d of %d gross outliers passed", missed, ngross)
	}
	if dropped > nClean/200 {
		t.Errorf("dropped %d of %d clean samples", dropped, nClean)
	}
	if bias := sumAcc/float64(nAcc) - sumClean/float64(nClean); math.Abs(bias) > 50 {
		t.Errorf("accepted clean samples' mean moved by %.0f ns", bias)
	}
	t.Logf("gross %d (all rejected), clean dropped %d of %d", ngross, dropped, nClean)
}

func TestFilterSteps(t *testing.T) {
	tests := []struct {
		name    string
		offset  func(k int) time.Duration
		maxDrop int
	}{
		{"cold start: 100 ms step at sample 20", func(k int) time.Duration {
			if k < 20 {
				return 100 * time.Millisecond
			}
			return 0
		}, 2},
		{"late-side step in a settled window: LateAgree-1 dropped", func(k int) time.Duration {
			if k < 60 {
				return 0
			}
			return -100 * time.Millisecond
		}, DefaultFilterConfig().LateAgree - 1},
		{"100 ms step at sample 20, early side", func(k int) time.Duration {
			if k < 20 {
				return 0
			}
			return 100 * time.Millisecond
		}, 2},
		{"step of 1 s (renumbered) at sample 20", func(k int) time.Duration {
			if k < 20 {
				return 0
			}
			return time.Second
		}, 2},
		{"frequency step: 1 ppm at sample 20", func(k int) time.Duration {
			if k < 20 {
				return 0
			}
			return time.Duration(k-20) * time.Microsecond
		}, 0},
		{"fast slew 100 ms -> 0 with 5 s time constant", func(k int) time.Duration {
			return time.Duration(100e6 * math.Exp(-float64(k)/5))
		}, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFilter(FilterConfig{})
			acc := filterRun(f, 200, tc.offset)
			drop := 0
			for k, a := range acc {
				if !a {
					drop++
					if k > 100 {
						t.Errorf("sample %d dropped long after the step", k)
					}
				}
			}
			if drop > tc.maxDrop {
				t.Errorf("dropped %d samples, want <= %d", drop, tc.maxDrop)
			}
		})
	}
}

func TestFilterNeverLocksOut(t *testing.T) {
	// Alternating huge values: no run agrees, MaxRejects restarts the window.
	f := NewFilter(FilterConfig{})
	acc := filterRun(f, 100, func(k int) time.Duration {
		if k < 10 {
			return 0
		}
		return time.Duration(k%2*2-1) * time.Duration(k) * time.Millisecond
	})
	n := 0
	for _, a := range acc[10:] {
		if a {
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d of 90 samples accepted", n)
	}
}

func TestFilterGapResets(t *testing.T) {
	f := NewFilter(FilterConfig{})
	filterRun(f, 20, func(int) time.Duration { return 0 })
	// An hour later the clock has drifted by 150 µs: accepted, not an outlier.
	if !f.Add(source.Sample{Local: t0.Add(time.Hour), Offset: 150 * time.Microsecond}) {
		t.Error("sample after a gap rejected")
	}
	if st := f.Stats(); st.Resets != 1 || st.Accepted != 21 {
		t.Errorf("%+v", st)
	}
}

func TestFilterConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  FilterConfig
		ok   bool
	}{
		{"zero is defaults", FilterConfig{}, true},
		{"defaults", DefaultFilterConfig(), true},
		{"K 1", FilterConfig{K: 1}, false},
		{"window 2", FilterConfig{Window: 2, MinSamples: 2}, false},
		{"min samples above window", FilterConfig{Window: 8, MinSamples: 9}, false},
		{"agree above max rejects", FilterConfig{Agree: 9, MaxRejects: 4}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestFilterClosedLoop(t *testing.T) {
	// A simple PI servo steering a clock that starts 0.1 s ahead and 30 ppm
	// fast, stepping when over 128 ms: the filter must pass the step (at
	// the cost of Agree-1 samples) and the whole frequency pull-in.
	tests := []struct {
		name    string
		x0      float64 // initial local - true, s
		sigma   float64 // pulse noise, s
		maxDrop int
	}{
		{"0.1 s ahead, no step, kernel PPS", 0.1, 1e-6, 0},
		{"0.5 s ahead, one step, kernel PPS", 0.5, 1e-6, 2},
		{"0.5 s behind, one step, GPIO", -0.5, 20e-6, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			f := NewFilter(FilterConfig{})
			x, freq, integ := tc.x0, 30e-6, 0.0
			const kp, ki = 0.2, 0.01
			drop := 0
			for k := 0; k < 2000; k++ {
				off := -x + rng.NormFloat64()*tc.sigma // reference - local
				local := t0.Add(time.Duration(k)*time.Second + time.Duration(x*1e9))
				if !f.Add(source.Sample{Local: local, Offset: time.Duration(off * 1e9), Kind: source.KindPPS, RefID: ntp.RefIDPPS}) {
					drop++
					x += freq - integ
					continue
				}
				if math.Abs(off) > 0.128 {
					x += off // step
					continue
				}
				integ -= ki * off
				x += freq - integ + kp*off
			}
			if drop > tc.maxDrop {
				t.Errorf("dropped %d samples, want <= %d", drop, tc.maxDrop)
			}
			if math.Abs(x) > 10*tc.sigma {
				t.Errorf("servo did not converge: x = %g", x)
			}
		})
	}
}

// Bursts of 1-8 consecutive pulses 20-300 µs late (an interrupt storm), even
// back to back, are all dropped, and the window is not rebuilt from them.
func TestFilterBursts(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	f := NewFilter(FilterConfig{})
	t0 := time.Unix(1e9, 0)
	late := 0
	for k := 0; k < 5000; k++ {
		off := time.Duration(rng.NormFloat64() * 1000)
		isLate := k > 50 && k%40 < 12 && k%40 != 8 // bursts of 8 and 3 with one good pulse between
		if isLate {
			off -= 20*time.Microsecond + time.Duration(rng.Float64()*280e3)
			late++
		}
		ok := f.Add(source.Sample{Kind: source.KindPPS, Local: t0.Add(time.Duration(k) * time.Second), Offset: off})
		if isLate && ok {
			t.Fatalf("pulse %d, %v late, accepted", k, -off)
		}
		if !isLate && !ok && k > 50 {
			t.Errorf("good pulse %d (%v) dropped", k, off)
		}
	}
	if st := f.Stats(); st.Rejected != uint64(late) {
		t.Errorf("rejected %d, want %d", st.Rejected, late)
	}
}
