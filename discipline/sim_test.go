package discipline

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// vclock is a virtual true time for tests.
type vclock struct{ t time.Time }

func (v *vclock) now() time.Time           { return v.t }
func (v *vclock) add(d time.Duration)      { v.t = v.t.Add(d) }
func newV(t0 time.Time) *vclock            { return &vclock{t: t0} }
func near(a, b, tol float64) bool          { return math.Abs(a-b) <= tol }
func durNear(a, b, tol time.Duration) bool { return (a - b).Abs() <= tol }
func day0() time.Time                      { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }

func TestSimClockRateAndCorrection(t *testing.T) {
	v := newV(day0())
	c := NewSimClock(SimClockConfig{InitialOffset: 100 * time.Millisecond, FreqPPM: 30}, v.now)
	if got := c.Now().Sub(v.t); got != 100*time.Millisecond {
		t.Fatalf("initial offset %v", got)
	}
	v.add(1000 * time.Second)
	if got := c.TrueOffset(v.t); !near(got, 0.1+30e-6*1000, 1e-12) {
		t.Errorf("offset after 1000 s at 30 ppm: %v", got)
	}
	// rate = (1+f)(1+corr)-1: a correction of -f/(1+f) stops the drift.
	if err := c.SetFrequencyPPB(-30e3 / (1 + 30e-6)); err != nil {
		t.Fatal(err)
	}
	before := c.TrueOffset(v.t)
	v.add(1000 * time.Second)
	if got := c.TrueOffset(v.t); !near(got, before, 1e-12) {
		t.Errorf("corrected clock drifted %v s", got-before)
	}
	if err := c.Step(-100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := c.TrueOffset(v.t); !near(got, before-0.1, 1e-12) {
		t.Errorf("step: %v", got)
	}
	if c.Status().Steps != 1 {
		t.Error("step not counted")
	}
	// At maps true instants to local readings (back-extrapolated too).
	if got := c.At(v.t.Add(-time.Second)).Sub(v.t.Add(-time.Second)).Seconds(); !near(got, before-0.1, 1e-9) {
		t.Errorf("At in the past: %v", got)
	}
}

func TestSimClockWanderIsSeeded(t *testing.T) {
	run := func(seed uint64) float64 {
		v := newV(day0())
		c := NewSimClock(SimClockConfig{FreqPPM: 30, Wander: 1e-8, Seed: seed}, v.now)
		v.add(10000 * time.Second)
		return c.OscillatorPPB()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Error("same seed, different walk")
	}
	if a == c {
		t.Error("different seeds, same walk")
	}
	// W=1e-8 over 1e4 steps: sigma 1 ppb... 1e-8*100 = 1e-6 = 1000 ppb.
	if d := math.Abs(a - 30e3); d == 0 || d > 5000 {
		t.Errorf("walk %v ppb from 30 ppm implausible", d)
	}
}

func TestSimClockLeap(t *testing.T) {
	for _, c := range []struct {
		l    ntp.Leap
		at   time.Duration // local reading of the jump, from midnight
		step float64
	}{{ntp.LeapInsert, 0, -1}, {ntp.LeapDelete, -time.Second, 1}} {
		mid := day0().Add(24 * time.Hour)
		v := newV(mid.Add(-10 * time.Second))
		clk := NewSimClock(SimClockConfig{}, v.now)
		if err := clk.SetLeap(c.l); err != nil {
			t.Fatal(err)
		}
		v.t = mid.Add(c.at - time.Millisecond)
		if got := clk.TrueOffset(v.t); got != 0 {
			t.Errorf("leap %d applied early: %v", c.l, got)
		}
		v.t = mid.Add(c.at + time.Millisecond)
		if got := clk.TrueOffset(v.t); got != c.step {
			t.Errorf("leap %d: offset %v, want %v", c.l, got, c.step)
		}
		// Not applied again while armed (kernel TIME_WAIT).
		v.t = mid.Add(24*time.Hour + 5*time.Second)
		if st := clk.Status(); st.LeapsApplied != 1 || clk.TrueOffset(v.t) != c.step {
			t.Errorf("leap %d applied %d times", c.l, clk.Status().LeapsApplied)
		}
	}
}

func TestSimClockConcurrent(t *testing.T) {
	start := time.Now()
	c := NewSimClock(SimClockConfig{FreqPPM: 10, Wander: 1e-9, Seed: 3}, time.Now)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				c.Now()
				c.At(time.Now())
				if j%50 == 0 {
					c.SetFrequencyPPB(float64(j))
				}
			}
		}()
	}
	wg.Wait()
	// Realtime mode: the clock stays within ~1 ms of the host clock.
	if d := time.Until(c.Now()); d.Abs() > time.Millisecond {
		t.Errorf("realtime sim clock %v from the host after %v", d, time.Since(start))
	}
}
