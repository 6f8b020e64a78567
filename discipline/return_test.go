package discipline

import (
	"math"
	"testing"
	"time"
)

// After an outage the holdover drift is slewed away within MaxPhaseSlewPPM of
// the frequency correction, and the clock is back under 1 µs within 30 s.
func TestGentleReturn(t *testing.T) {
	r := newRig(t, DefaultConfig(), SimClockConfig{InitialOffset: 100 * time.Microsecond, FreqPPM: 30}, day0(), nil)
	r.run(1800, nil)
	if !r.loop.Locked() {
		t.Fatal("not locked")
	}
	// An outage during which the oscillator moves by 50 ppb: 180 µs of drift.
	r.clk.ShiftOscillatorPPB(50)
	r.run(3600, func(int) bool { return true })
	if x := r.offset(); math.Abs(x) < 100e-6 {
		t.Fatalf("drift %v s: the test needs a large one", x)
	}
	back := -1
	prev := r.offset()
	for k := 0; k < 60; k++ {
		r.run(1, nil)
		x := r.offset()
		// The rate error: phase change over one second, against the
		// oscillator's own change the frequency estimate misses (0.05 ppm).
		if rate := math.Abs(x-prev) * 1e6; rate > DefaultMaxPhaseSlewPPM+0.5 {
			t.Errorf("second %d after return: rate error %.2f ppm", k+1, rate)
		}
		prev = x
		if back < 0 && math.Abs(x) < 1e-6 {
			back = k + 1
		}
	}
	if back < 0 || back > 30 {
		t.Errorf("back under 1 µs after %d s, want within 30", back)
	}
	if r.steps() != 0 {
		t.Errorf("%d steps", r.steps())
	}
}

func TestMaxPhaseSlewValidated(t *testing.T) {
	c := DefaultConfig()
	c.MaxPhaseSlewPPM = 0
	if c.Validate() == nil {
		t.Error("MaxPhaseSlewPPM 0 accepted")
	}
	c.MaxPhaseSlewPPM = c.MaxSlewPPM + 1
	if c.Validate() == nil {
		t.Error("MaxPhaseSlewPPM above MaxSlewPPM accepted")
	}
}
