package discipline

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

// LeapSource tells whether a leap second is scheduled (internal/leap.Table
// implements it).
type LeapSource interface {
	// Due returns +1 when a leap second is inserted at the end of the UTC
	// day containing t, -1 when one is deleted, 0 otherwise.
	Due(t time.Time) int
}

// Event reports what a Loop call did, for the I/O edge to log.
type Event struct {
	// Accepted is true when the sample was used.
	Accepted bool
	// Stepped is the step applied to the clock (0: none).
	Stepped time.Duration
	// LockGained and LockLost report lock transitions.
	LockGained, LockLost bool
	// Reacquired is true when the servo restarted after persistent rejections.
	Reacquired bool
	// DriftDiscarded is true when the drift file's frequency was dropped
	// after the first failed acquisition (the loop never locked with it);
	// the file should be rewritten once the loop locks.
	DriftDiscarded bool
	// LeapArmed is the leap flag newly set on the clock (ntp.LeapNone when
	// a flag was cleared); LeapChanged says whether it changed.
	LeapArmed   ntp.Leap
	LeapChanged bool
	// ActuatorErr is a failed step or frequency change; the servo was
	// reset and the lock dropped.
	ActuatorErr error
	// Refused is why the sample was refused before the servo saw it: a
	// reference time outside Config.Plausible (a *source.ImplausibleError),
	// or, once synchronised, an offset beyond Config.MaxStep (a
	// *StepRefusedError). The clock was neither stepped nor slewed.
	Refused error
	// FlagErr is a failure to tell the clock its sync state or leap flag;
	// nothing was reset, the call is tried again at the next change.
	FlagErr error
}

// Loop owns the servo and applies it to a Clock. It is driven by one
// goroutine (Update, Tick); State may be read from any goroutine.
type Loop struct {
	cfg    Config
	clk    Clock
	leaps  LeapSource
	servo  *Servo
	state  atomic.Pointer[SyncState]
	prec   int8
	locked bool
	// corrPPB is the frequency correction last set; slewT the local time
	// up to which slewed integrates the phase it moved the clock by beyond
	// the estimated oscillator frequency (see TakeSlewed).
	corrPPB float64
	slewT   time.Time
	slewed  time.Duration
	nAcc    int             // accepted samples since acquisition
	ident   source.Identity // the selection's identity at the last accepted sample
	refT    time.Time       // local time of the last accepted sample
	rootD   time.Duration   // the loop's error bound against the peer at refT
	leap    ntp.Leap        // flag armed on the clock
	synced  bool            // last SetSync value
	// everLocked: the loop has been synchronised once, so MaxStep applies.
	everLocked bool
	peer       source.ID   // the system peer of the last sample
	peerKind   source.Kind // and its kind
	refused    uint64
	alarm      string    // the last refusal's reason
	alarmAt    time.Time // local time of the last refusal
}

// AlarmHold is how long a refused sample's alarm stays in the published
// state after the last refusal.
const AlarmHold = 10 * time.Minute

// StepRefusedError is a sample whose offset exceeds Config.MaxStep after the
// first synchronisation.
type StepRefusedError struct {
	// Offset is the sample's offset (reference - local).
	Offset time.Duration
	// MaxStep is the limit it exceeded.
	MaxStep time.Duration
	// Reference is the time the source named.
	Reference time.Time
}

func (e *StepRefusedError) Error() string {
	return fmt.Sprintf("reference names %s, %v from the synchronised clock (over the %v limit): refused, not stepped or slewed",
		e.Reference.UTC().Format(time.RFC3339), e.Offset, e.MaxStep)
}

// NewLoop returns a loop steering clk. leaps may be nil (no leap seconds).
func NewLoop(cfg Config, clk Clock, leaps LeapSource) (*Loop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		return nil, fmt.Errorf("discipline: nil clock")
	}
	l := &Loop{cfg: cfg, clk: clk, leaps: leaps, servo: NewServo(cfg), prec: cfg.PrecisionLog2}
	if l.prec == 0 {
		l.prec = -20
		if p, ok := clk.(PrecisionReporter); ok {
			l.prec = p.PrecisionLog2()
		}
	}
	l.publish(clk.Now())
	return l, nil
}

// SetInitialFrequency applies the drift file's frequency correction (parts
// per billion) before the first sample. A correction beyond
// Config.MaxSlewPPM, which the servo could never hold, is refused. A value
// the servo cannot lock with is dropped at its first re-acquisition (see
// Event.DriftDiscarded).
func (l *Loop) SetInitialFrequency(ppb float64) error {
	if l.servo.Initialized() {
		return nil
	}
	if lim := l.cfg.MaxSlewPPM * 1e3; !(math.Abs(ppb) <= lim) {
		return fmt.Errorf("discipline: initial frequency %.3f ppb beyond the %.0f ppb the servo corrects", ppb, lim)
	}
	if err := l.clk.SetFrequencyPPB(ppb); err != nil {
		return fmt.Errorf("discipline: initial frequency: %w", err)
	}
	l.corrPPB = ppb
	l.servo.SetInitialFrequency(ppb)
	return nil
}

// Update folds in one sample of the system peer; id is the identity the
// selection decided for the served time.
func (l *Loop) Update(s source.Sample, id source.Identity) Event {
	now := l.clk.Now()
	l.integrateSlew(now)
	if id.Peer != l.peer {
		if l.peer != "" && id.Kind.Refclock() != l.peerKind.Refclock() {
			// Another source steers now (PPS to NTP and back): its noise is
			// not the last one's. The servo starts over from its frequency
			// estimate; being locked it slews, never steps.
			l.servo.Reset()
		}
		l.peer, l.peerKind = id.Peer, id.Kind
	}
	if err := l.vet(s); err != nil {
		l.refused++
		l.alarm, l.alarmAt = err.Error(), now
		l.publish(now)
		return Event{Refused: err}
	}
	act := l.servo.Sample(s.Local, s.Offset, s.Sigma, s.Kind == source.KindPPS, now)
	ev := Event{Accepted: act.Accepted, Reacquired: act.Reacquired, DriftDiscarded: act.DriftDiscarded}
	if act.Reacquired {
		l.nAcc = 0
		if l.locked {
			l.locked = false
			ev.LockLost = true
		}
	}
	if err := l.apply(act, &ev); err != nil {
		return ev
	}
	if act.Step != 0 {
		now = now.Add(act.Step)
	}
	if act.Accepted {
		l.nAcc++
		l.ident = id
		l.refT = now
		off, sig := l.servo.Predict(now)
		l.rootD = absDur(off) + 3*sig + time.Duration(math.Ldexp(1e9, int(l.prec)))
		// A coarse (NMEA-only) source locks within its own error.
		thr := max(l.cfg.LockThreshold, 3*s.Sigma)
		if !l.locked && l.nAcc >= l.cfg.MinLockSamples && absDur(off) < thr {
			l.locked = true
			l.everLocked = true
			l.servo.MarkLocked()
			ev.LockGained = true
		}
		if l.locked {
			l.servo.learnTemperature(now)
		}
	}
	l.sync(now, &ev)
	l.publish(now)
	return ev
}

// vet refuses a sample that names an implausible time or, once
// synchronised, lies further off than MaxStep.
func (l *Loop) vet(s source.Sample) error {
	ref := s.Local.Add(s.Offset)
	if err := l.cfg.Plausible.Check(ref); err != nil {
		return err
	}
	if l.everLocked && absDur(s.Offset) > l.cfg.MaxStep {
		return &StepRefusedError{Offset: s.Offset, MaxStep: l.cfg.MaxStep, Reference: ref}
	}
	return nil
}

// Refused counts the samples refused by Update's plausibility checks.
func (l *Loop) Refused() uint64 { return l.refused }

// Tick runs once a second: holdover steering, loss of sync after
// Config.UnsyncAfter, the leap flag and the kernel's error estimates. now is
// the local clock reading.
func (l *Loop) Tick(now time.Time) Event {
	var ev Event
	l.integrateSlew(now)
	act := l.servo.Tick(now)
	if err := l.apply(act, &ev); err != nil {
		return ev
	}
	if l.locked && now.Sub(l.refT) > l.cfg.UnsyncAfter {
		l.locked = false
		l.nAcc = 0
		ev.LockLost = true
	}
	want := ntp.LeapNone
	if l.locked && l.leaps != nil {
		switch l.leaps.Due(now.UTC()) {
		case 1:
			want = ntp.LeapInsert
		case -1:
			want = ntp.LeapDelete
		}
	}
	if want != l.leap {
		if err := l.clk.SetLeap(want); err != nil {
			ev.FlagErr = fmt.Errorf("discipline: set leap %d: %w", want, err)
		} else {
			l.leap = want
			ev.LeapArmed, ev.LeapChanged = want, true
		}
	}
	l.sync(now, &ev)
	l.publish(now)
	return ev
}

// apply carries out a servo action; on an actuator error it resets the servo
// and reports the error in ev.
func (l *Loop) apply(act Action, ev *Event) error {
	var err error
	if act.Step != 0 {
		if err = l.clk.Step(act.Step); err != nil {
			err = fmt.Errorf("discipline: step %v: %w", act.Step, err)
		} else {
			ev.Stepped = act.Step
			if !l.slewT.IsZero() {
				l.slewT = l.slewT.Add(act.Step)
			}
		}
	}
	if err == nil && act.SetFreq {
		if e := l.clk.SetFrequencyPPB(act.FreqPPB); e != nil {
			err = fmt.Errorf("discipline: set frequency %.3f ppb: %w", act.FreqPPB, e)
		} else {
			l.corrPPB = act.FreqPPB
		}
	}
	if err != nil {
		ev.ActuatorErr = err
		l.servo.Reset()
		l.nAcc = 0
		if l.locked {
			l.locked = false
			ev.LockLost = true
		}
		l.publish(l.clk.Now())
	}
	return err
}

// sync tells the clock (the kernel) whether it is synchronised and how well.
func (l *Loop) sync(now time.Time, ev *Event) {
	if !l.locked {
		if l.synced {
			if err := l.clk.SetSync(false, 0, 0); err != nil && ev.FlagErr == nil {
				ev.FlagErr = fmt.Errorf("discipline: set sync: %w", err)
			}
			l.synced = false
		}
		return
	}
	_, sig := l.servo.Predict(now)
	maxErr := l.ident.RootDelay/2 + l.ident.RootDispersion + l.rootD + time.Duration(l.cfg.DispersionRate*float64(now.Sub(l.refT)))
	if err := l.clk.SetSync(true, sig, maxErr); err != nil && ev.FlagErr == nil {
		ev.FlagErr = fmt.Errorf("discipline: set sync: %w", err)
	}
	l.synced = true
}

// publish stores a new SyncState.
func (l *Loop) publish(now time.Time) {
	st := &SyncState{
		Leap:           ntp.LeapAlarm,
		Stratum:        16,
		RefID:          ntp.RefIDInit,
		DispersionRate: l.cfg.DispersionRate,
		PrecisionLog2:  l.prec,
		RootDispersion: 16 * time.Second,
	}
	if f, err := l.clk.FrequencyPPB(); err == nil {
		st.FreqPPB = f
	}
	if l.servo.Initialized() {
		st.OffsetEst, _ = l.servo.Predict(now)
	}
	if l.alarm != "" && now.Sub(l.alarmAt) < AlarmHold {
		st.Alarm = l.alarm
	}
	st.Refused = l.refused
	if l.locked {
		st.Synced = true
		st.Stratum = l.ident.Stratum
		st.RefID = l.ident.RefID
		st.Peer, st.PeerKind = l.ident.Peer, l.ident.Kind
		st.RefTime = l.refT
		st.RootDelay = l.ident.RootDelay
		st.RootDispersion = l.ident.RootDispersion + l.rootD
		st.Leap = l.leap
	}
	l.state.Store(st)
}

// State returns the current published state (never nil; do not modify).
func (l *Loop) State() *SyncState { return l.state.Load() }

// Locked reports whether the loop is locked (or holding over).
func (l *Loop) Locked() bool { return l.locked }

// FrequencyLearnt reports whether the loop has locked once, so that the
// clock's frequency is known to the servo's precision; before that it may
// be off by a crystal's tolerance (selection.Selector.SetFrequencyLearnt).
func (l *Loop) FrequencyLearnt() bool { return l.everLocked }

// integrateSlew adds to slewed the phase the frequency correction moved the
// clock by since slewT, beyond what the estimated oscillator frequency
// cancels: the clock gains (1+y)(1+c)-1 per second on the reference, y the
// estimate, c the correction.
func (l *Loop) integrateSlew(now time.Time) {
	if l.everLocked {
		return // TakeSlewed reports nothing once locked
	}
	if !l.slewT.IsZero() {
		if dt := now.Sub(l.slewT).Seconds(); dt > 0 {
			var y float64
			if l.servo.Initialized() {
				y = l.servo.Stats().FreqPPB * 1e-9
			}
			rate := (1+y)*(1+l.corrPPB*1e-9) - 1
			l.slewed += time.Duration(rate * dt * 1e9)
		}
	}
	l.slewT = now
}

// TakeSlewed returns how far the loop has slewed the clock ahead (local
// gained on the reference; negative: fallen behind) since the last call,
// up to local time now: the phase it steered beyond the estimated
// oscillator frequency. Every offset (reference - local) measured before
// has dropped by as much; the selection shifts its stored samples by it
// (selection.Selector.Slewed), as by a step. Only during the first
// acquisition, when the servo pulls the phase in at up to MaxSlewPPM:
// once locked it steers phase at a bounded slew that the selection's PHI
// covers, and a servo restarted on another source (a GPS rejected) has
// no frequency estimate yet to tell its slew from, so it returns 0.
func (l *Loop) TakeSlewed(now time.Time) time.Duration {
	l.integrateSlew(now)
	d := l.slewed
	l.slewed = 0
	if l.everLocked {
		return 0
	}
	return d
}

// Stats returns the servo's estimates.
func (l *Loop) Stats() ServoStats { return l.servo.Stats() }

// DriftPPB returns the frequency correction to save in the drift file, and
// whether there is one worth saving (the loop has locked).
func (l *Loop) DriftPPB() (float64, bool) {
	if !l.locked {
		return 0, false
	}
	return l.servo.FreqCorrectionPPB()
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
