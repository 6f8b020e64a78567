package discipline

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// rig drives a Loop on a SimClock in virtual time with pulse samples made
// directly (discsim covers the real Locker): the pulse of true second k is
// stamped by the clock plus noise and its sample arrives 0.2 s later.
type rig struct {
	t      *testing.T
	v      *vclock
	clk    *SimClock
	loop   *Loop
	rng    *rand.Rand
	sigma  time.Duration
	k      int           // next pulse, seconds from start
	start  time.Time     // true time of pulse 0
	leapAt time.Time     // inserted leap at this true midnight (zero: none)
	lie    time.Duration // the receiver names true time + lie
	events []Event
}

func newRig(t *testing.T, cfg Config, sc SimClockConfig, start time.Time, leaps LeapSource) *rig {
	t.Helper()
	v := newV(start)
	clk := NewSimClock(sc, v.now)
	l, err := NewLoop(cfg, clk, leaps)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, v: v, clk: clk, loop: l, rng: rand.New(rand.NewPCG(7, 7)), sigma: time.Microsecond, start: start}
}

// label is the UTC second a receiver names for true instant tk.
func (r *rig) label(tk time.Time) time.Time {
	if !r.leapAt.IsZero() && !tk.Before(r.leapAt) {
		return tk.Add(-time.Second)
	}
	return tk.Add(r.lie)
}

// run advances n seconds; pulses are delivered unless drop(k) says not.
func (r *rig) run(n int, drop func(k int) bool) {
	for i := 0; i < n; i++ {
		tk := r.start.Add(time.Duration(r.k) * time.Second)
		r.v.t = tk
		stamp := r.clk.At(tk).Add(time.Duration(r.rng.NormFloat64() * float64(r.sigma)))
		if drop == nil || !drop(r.k) {
			r.v.t = tk.Add(200 * time.Millisecond)
			r.events = append(r.events, r.loop.Update(refclockIn(ppsSample(
				stamp, r.label(tk).Sub(stamp), r.sigma))))
		}
		r.v.t = tk.Add(500 * time.Millisecond)
		r.events = append(r.events, r.loop.Tick(r.clk.Now()))
		r.k++
	}
}

// offset is local - true now (leap steps removed), seconds.
func (r *rig) offset() float64 {
	return r.clk.TrueOffset(r.v.t) - r.clk.Status().LeapShift.Seconds()
}

func (r *rig) steps() int {
	n := 0
	for _, e := range r.events {
		if e.Stepped != 0 {
			n++
		}
	}
	return n
}

func TestSignSlowClockConverges(t *testing.T) {
	// A clock 1 ms slow (local - true = -1 ms) yields offset +1 ms
	// (reference - local) and converges without a step.
	r := newRig(t, DefaultConfig(), SimClockConfig{InitialOffset: -time.Millisecond, FreqPPM: 30, Wander: 1e-9}, day0(), nil)
	stamp := r.clk.At(r.start)
	s := ppsSample(stamp, r.start.Sub(stamp), time.Microsecond)
	if s.Offset != time.Millisecond {
		t.Fatalf("sample offset %v, want +1ms", s.Offset)
	}
	r.loop.Update(refclockIn(s))
	if got := r.loop.State().OffsetEst; !durNear(got, time.Millisecond, time.Microsecond) {
		t.Fatalf("first estimate %v, want +1ms", got)
	}
	if f, _ := r.clk.FrequencyPPB(); f <= 0 {
		t.Fatalf("a slow clock must be sped up, correction %v ppb", f)
	}
	r.k = 1
	r.run(120, nil)
	if x := r.offset(); math.Abs(x) > 2e-6 {
		t.Errorf("after 2 min still %v s off", x)
	}
	if r.steps() != 0 {
		t.Error("1 ms must be slewed, not stepped")
	}
	if f := r.loop.Stats().FreqPPB; !near(f, 30e3, 200) {
		t.Errorf("frequency estimate %v ppb, want ~30000", f)
	}
}

func TestStepOnceAtStart(t *testing.T) {
	r := newRig(t, DefaultConfig(), SimClockConfig{InitialOffset: 500 * time.Millisecond, FreqPPM: -20}, day0(), nil)
	r.run(60, nil)
	if r.steps() != 1 {
		t.Fatalf("%d steps, want 1", r.steps())
	}
	if x := r.offset(); math.Abs(x) > 5e-6 {
		t.Fatalf("after the step %v s off", x)
	}
	// Once locked, a jump of the clock is never stepped back: the samples are
	// rejected, then the servo re-acquires by slewing.
	if err := r.clk.Step(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.run(int(DefaultConfig().ReacquireAfter/time.Second)+120, nil)
	if r.steps() != 1 {
		t.Errorf("%d steps after lock, want none", r.steps()-1)
	}
	if x := r.offset(); math.Abs(x) > 1e-3 {
		t.Errorf("did not re-acquire: %v s off", x)
	}
	// 0.1 s at start (under the 128 ms threshold) is slewed.
	r2 := newRig(t, DefaultConfig(), SimClockConfig{InitialOffset: 100 * time.Millisecond, FreqPPM: 30}, day0(), nil)
	r2.run(30, nil)
	if r2.steps() != 0 || math.Abs(r2.offset()) > 10e-6 {
		t.Errorf("0.1 s start: %d steps, %v s off after 30 s", r2.steps(), r2.offset())
	}
}

func TestSyncStateLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UnsyncAfter = 5 * time.Minute
	r := newRig(t, cfg, SimClockConfig{FreqPPM: 5, Wander: 1e-9}, day0(), nil)
	st := r.loop.State()
	if st.Synced || st.Stratum != 16 || st.RefID != ntp.RefIDInit || st.Leap != ntp.LeapAlarm {
		t.Fatalf("initial state %+v", st)
	}
	r.run(60, nil)
	st = r.loop.State()
	if !st.Synced || st.Stratum != 1 || st.RefID != ntp.RefIDPPS || st.Leap != ntp.LeapNone {
		t.Fatalf("locked state %+v", st)
	}
	if st.PrecisionLog2 != -20 || st.DispersionRate != 15e-6 || st.RootDelay != 0 {
		t.Errorf("precision %d rate %v delay %v", st.PrecisionLog2, st.DispersionRate, st.RootDelay)
	}
	if st.RootDispersion <= 0 || st.RootDispersion > 50*time.Microsecond {
		t.Errorf("root dispersion %v", st.RootDispersion)
	}
	if d := r.clk.Now().Sub(st.RefTime); d < 0 || d > time.Second {
		t.Errorf("reftime %v before now", d)
	}
	ks := r.clk.Status()
	if !ks.Synced || ks.MaxErr <= 0 || ks.MaxErr > 100*time.Microsecond || ks.EstErr <= 0 {
		t.Errorf("kernel status %+v", ks)
	}
	// Holdover: no pulses. Still synced (dispersion growing) until
	// UnsyncAfter, then unsynced.
	r.run(120, func(int) bool { return true })
	if !r.loop.State().Synced {
		t.Fatal("lost sync during a 2 min holdover")
	}
	if me := r.clk.Status().MaxErr; me < 120*15*time.Microsecond {
		t.Errorf("maxerror %v did not grow at 15 µs/s", me)
	}
	r.run(240, func(int) bool { return true })
	st = r.loop.State()
	if st.Synced || st.Stratum != 16 || st.Leap != ntp.LeapAlarm || r.clk.Status().Synced {
		t.Errorf("after UnsyncAfter: %+v", st)
	}
	// Pulses return: lock again.
	r.run(30, nil)
	if !r.loop.State().Synced {
		t.Error("did not relock")
	}
}

type fixedLeap struct {
	day  time.Time // UTC midnight starting the day the leap ends
	sign int
}

func (f fixedLeap) Due(t time.Time) int {
	if !t.Before(f.day) && t.Before(f.day.Add(24*time.Hour)) {
		return f.sign
	}
	return 0
}

func TestLeapArmedOnTheDayOnly(t *testing.T) {
	leapDay := time.Date(2016, 12, 31, 0, 0, 0, 0, time.UTC)
	midnight := leapDay.Add(24 * time.Hour)
	src := fixedLeap{day: leapDay, sign: 1}
	// The evening before: not armed until the leap day starts.
	r := newRig(t, DefaultConfig(), SimClockConfig{FreqPPM: 3}, leapDay.Add(-10*time.Minute), src)
	r.run(9*60, nil)
	if r.clk.Status().Leap != ntp.LeapNone || r.loop.State().Leap != ntp.LeapNone {
		t.Fatal("leap armed the day before")
	}
	r.run(120, nil)
	if r.clk.Status().Leap != ntp.LeapInsert || r.loop.State().Leap != ntp.LeapInsert {
		t.Fatal("leap not armed on its day")
	}
	// The end of the leap day: applied once at midnight, cleared after, no
	// offset spike.
	r = newRig(t, DefaultConfig(), SimClockConfig{FreqPPM: 3, Wander: 1e-9}, midnight.Add(-10*time.Minute), src)
	r.leapAt = midnight
	r.run(10*60-2, nil)
	if r.clk.Status().Leap != ntp.LeapInsert || r.loop.State().Leap != ntp.LeapInsert {
		t.Fatal("leap not armed before midnight")
	}
	worst := 0.0
	for i := 0; i < 300; i++ {
		r.run(1, nil)
		worst = math.Max(worst, math.Abs(r.offset()))
	}
	st := r.clk.Status()
	if st.LeapsApplied != 1 || st.LeapShift != -time.Second {
		t.Fatalf("leaps applied %d shift %v", st.LeapsApplied, st.LeapShift)
	}
	if st.Leap != ntp.LeapNone || r.loop.State().Leap != ntp.LeapNone {
		t.Error("leap flag not cleared after midnight")
	}
	if worst > 5e-6 {
		t.Errorf("offset spike %v s after the leap", worst)
	}
	if r.steps() != 0 {
		t.Error("the loop stepped at the leap")
	}
}

// failingClock fails SetFrequencyPPB while fail is set.
type failingClock struct {
	*SimClock
	fail bool
}

func (f *failingClock) SetFrequencyPPB(ppb float64) error {
	if f.fail {
		return errors.New("EPERM")
	}
	return f.SimClock.SetFrequencyPPB(ppb)
}

func TestActuatorErrorResetsServo(t *testing.T) {
	v := newV(day0())
	fc := &failingClock{SimClock: NewSimClock(SimClockConfig{FreqPPM: 10}, v.now)}
	l, err := NewLoop(DefaultConfig(), fc, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, v: v, clk: fc.SimClock, loop: l, rng: rand.New(rand.NewPCG(1, 1)), sigma: time.Microsecond, start: day0()}
	r.run(30, nil)
	if !l.State().Synced {
		t.Fatal("not locked")
	}
	fc.fail = true
	r.run(1, nil)
	var sawErr bool
	for _, e := range r.events {
		if e.ActuatorErr != nil {
			sawErr = true
		}
	}
	if !sawErr || l.State().Synced {
		t.Fatal("actuator error not reported or lock kept")
	}
	fc.fail = false
	r.run(30, nil)
	if !l.State().Synced || math.Abs(r.offset()) > 5e-6 {
		t.Errorf("no recovery after the actuator came back: %v s", r.offset())
	}
}

func TestGPSOnlyLocksCoarsely(t *testing.T) {
	v := newV(day0())
	clk := NewSimClock(SimClockConfig{InitialOffset: 20 * time.Millisecond, FreqPPM: 10}, v.now)
	l, err := NewLoop(DefaultConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for k := 0; k < 120; k++ {
		tk := day0().Add(time.Duration(k) * time.Second)
		rx := tk.Add(200*time.Millisecond + time.Duration(rng.NormFloat64()*float64(3*time.Millisecond)))
		v.t = rx
		local := clk.Now()
		l.Update(refclockIn(gpsSample(local, rx.Sub(local), 10*time.Millisecond)))
		v.t = tk.Add(700 * time.Millisecond)
		l.Tick(clk.Now())
	}
	st := l.State()
	if !st.Synced || st.RefID != ntp.RefIDGPS || st.RootDispersion < time.Millisecond {
		t.Errorf("GPS-only state %+v", st)
	}
	if x := clk.TrueOffset(v.t); math.Abs(x) > 5e-3 {
		t.Errorf("GPS-only offset %v s", x)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Config){
		func(c *Config) { c.StepThreshold = 0 },
		func(c *Config) { c.MaxSlewPPM = 0 },
		func(c *Config) { c.PulsePeriod = time.Millisecond },
		func(c *Config) { c.OutlierGate = 1 },
		func(c *Config) { c.UnsyncAfter = 0 },
		func(c *Config) { c.DispersionRate = -1 },
		func(c *Config) { c.PrecisionLog2 = 3 },
		func(c *Config) { c.ReacquireAfter = time.Second },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: invalid config accepted", i)
		}
		if _, err := NewLoop(c, NewSimClock(SimClockConfig{}, time.Now), nil); err == nil {
			t.Errorf("case %d: NewLoop accepted an invalid config", i)
		}
	}
}

// flagFailClock fails SetSync and SetLeap, never the actuators.
type flagFailClock struct{ *SimClock }

func (f flagFailClock) SetSync(bool, time.Duration, time.Duration) error {
	return errors.New("EPERM")
}
func (f flagFailClock) SetLeap(ntp.Leap) error { return errors.New("EPERM") }

// A failure to set the kernel's sync state is reported as such, with no
// servo reset and no lock lost, and logged without claiming a reset.
func TestFlagErrorDoesNotResetServo(t *testing.T) {
	v := newV(day0())
	fc := flagFailClock{NewSimClock(SimClockConfig{FreqPPM: 10}, v.now)}
	l, err := NewLoop(DefaultConfig(), fc, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, v: v, clk: fc.SimClock, loop: l, rng: rand.New(rand.NewPCG(1, 1)), sigma: time.Microsecond, start: day0()}
	r.run(40, nil)
	var flagErrs int
	for _, e := range r.events {
		if e.ActuatorErr != nil {
			t.Fatalf("flag failure reported as an actuator failure: %v", e.ActuatorErr)
		}
		if e.FlagErr != nil {
			flagErrs++
		}
	}
	if flagErrs == 0 {
		t.Fatal("SetSync failure not reported")
	}
	if !l.State().Synced || math.Abs(r.offset()) > 5e-6 {
		t.Fatalf("lock lost or servo disturbed by a flag failure: synced %v, offset %v s", l.State().Synced, r.offset())
	}
	var buf bytes.Buffer
	logEvent(slog.New(slog.NewTextHandler(&buf, nil)), l, Event{FlagErr: errors.New("set sync: EPERM")})
	if strings.Contains(buf.String(), "reset") || !strings.Contains(buf.String(), "EPERM") {
		t.Fatalf("flag failure logged as %q", buf.String())
	}
}

// TestTakeSlewedDuringAcquisition: a clock 50 ms ahead (under the step
// threshold) is slewed in during the first acquisition; what TakeSlewed
// reports over it adds up to the phase removed (the offset's change less
// the oscillator's own drift the servo had not yet learnt, here under 1 ms),
// and once locked it reports nothing and the frequency is learnt.
func TestTakeSlewedDuringAcquisition(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		r := newRig(t, DefaultConfig(), SimClockConfig{InitialOffset: 50 * time.Millisecond, FreqPPM: 30, Wander: 1e-9, Seed: uint64(seed)}, day0(), nil)
		if r.loop.FrequencyLearnt() {
			t.Fatal("frequency learnt before any sample")
		}
		start := r.offset()
		var slewed time.Duration
		for i := 0; i < 120 && !r.loop.Locked(); i++ {
			r.run(1, nil)
			slewed += r.loop.TakeSlewed(r.clk.Now())
		}
		if !r.loop.Locked() || r.steps() != 0 {
			t.Fatalf("seed %d: locked %v after %d steps", seed, r.loop.Locked(), r.steps())
		}
		removed := time.Duration((r.offset() - start) * 1e9) // local - true: the clock was moved back
		t.Logf("seed %d: slewed %v, clock moved %v, locked after %d s", seed, slewed, removed, r.k)
		if diff := (slewed - removed).Abs(); diff > time.Millisecond {
			t.Errorf("seed %d: slewed %v, the clock moved %v (difference %v)", seed, slewed, removed, diff)
		}
		r.run(30, nil)
		if d := r.loop.TakeSlewed(r.clk.Now()); d != 0 || !r.loop.FrequencyLearnt() {
			t.Errorf("seed %d: after lock slewed %v, learnt %v", seed, d, r.loop.FrequencyLearnt())
		}
	}
}
