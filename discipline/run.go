package discipline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// DriftSaveInterval is how often Run saves the drift file while locked.
const DriftSaveInterval = time.Hour

// Runner is the discipline's I/O edge: the one goroutine that owns the
// selection and the loop.
type Runner struct {
	onStep         func(time.Duration)
	prevStates     map[source.ID]selection.State
	alarm          string
	alarmView      atomic.Pointer[string]
	lastRefusalLog time.Time // when a refusal was last logged
	refusalsSince  uint64    // refusals not logged since
	loop           *Loop
	sel            *selection.Selector
	driftPath      string
	log            *slog.Logger
	sources        atomic.Pointer[[]selection.SourceState]
	tempPath       string    // "" no temperature sensor
	tempFailing    bool      // the last read failed
	tempErrors     uint64    // failed reads since the start
	tempC          float64   // the last valid reading, °C
	tempFit        TempFit   // the loop's fit as last copied
	tempFitAt      time.Time // when tempFit was copied (zero: never)
	tempView       atomic.Pointer[Temperature]
}

// TempFitPublishEvery is how often the Runner copies the loop's
// temperature fit for other goroutines to read (the reading itself is
// published every second).
const TempFitPublishEvery = 30 * time.Second

// Temperature is the Runner's last temperature reading and the model the
// loop has learned from the readings.
type Temperature struct {
	// File is the sensor's sysfs file.
	File string
	// Celsius is the last valid reading, °C (0 before any); Valid says
	// the most recent read gave it.
	Celsius float64
	Valid   bool
	// ReadErrors counts the failed reads since the start.
	ReadErrors uint64
	// Fit is the loop's learned model (frequency error against
	// temperature), refreshed every TempFitPublishEvery.
	Fit TempFit
}

// SetTemperatureFile makes Run read the oscillator's temperature from the
// sysfs thermal file at path every second and give it to the loop, which
// learns the crystal's temperature coefficient and uses it in holdover
// ("" reads none). Call it before Run.
func (r *Runner) SetTemperatureFile(path string) {
	r.tempPath = path
	r.tempView.Store(nil)
	if path != "" {
		r.tempView.Store(&Temperature{File: path})
	}
}

// Temperature returns the last temperature reading, its read error count
// and the learned model as the Runner last published them; ok is false
// when no temperature file is set. Safe from any goroutine: the Runner
// publishes a fresh copy after each read (each second) and copies the
// loop's fit every TempFitPublishEvery.
func (r *Runner) Temperature() (t Temperature, ok bool) {
	p := r.tempView.Load()
	if p == nil {
		return Temperature{}, false
	}
	return *p, true
}

// readTemperature reads the sensor once and passes it on; a failure is
// counted, logged when the sensor starts and stops failing, and tells the
// loop there is no valid reading. It then publishes the reading, with the
// loop's fit copied anew when TempFitPublishEvery has passed since the
// last copy (now is wall time).
func (r *Runner) readTemperature(now time.Time) {
	if r.tempPath == "" {
		return
	}
	defer r.publishTemperature(now)
	c, err := ReadTemperature(r.tempPath)
	if err != nil {
		r.tempErrors++
		if !r.tempFailing {
			r.log.Warn("temperature not read: holdover goes without the temperature model", "file", r.tempPath, "err", err)
		}
		r.tempFailing = true
		r.loop.SetTemperature(0, false)
		return
	}
	if r.tempFailing {
		r.log.Info("temperature read again", "file", r.tempPath, "celsius", c, "errors", r.tempErrors)
	}
	r.tempFailing = false
	r.tempC = c
	r.loop.SetTemperature(c, true)
}

// publishTemperature stores the current reading for Temperature.
func (r *Runner) publishTemperature(now time.Time) {
	if r.tempFitAt.IsZero() || now.Sub(r.tempFitAt) >= TempFitPublishEvery || now.Before(r.tempFitAt) {
		r.tempFit, r.tempFitAt = r.loop.TempFit(), now
	}
	r.tempView.Store(&Temperature{File: r.tempPath, Celsius: r.tempC, Valid: !r.tempFailing,
		ReadErrors: r.tempErrors, Fit: r.tempFit})
}

// NewRunner returns a runner feeding the samples that sel selects into
// loop. driftPath "" disables the drift file; log may be nil.
func NewRunner(loop *Loop, sel *selection.Selector, driftPath string, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{loop: loop, sel: sel, driftPath: driftPath, log: log}
	empty := ""
	r.alarmView.Store(&empty)
	if n := sel.Upstreams(); n < 2 {
		log.Warn("fewer than two upstream NTP servers: a lying GPS cannot be outvoted (configure four to seven)", "upstreams", n)
	}
	st := sel.States()
	r.sources.Store(&st)
	r.setSkew()
	return r
}

// setSkew tells the selection how well the loop knows the clock's
// frequency: not at all before its first lock.
func (r *Runner) setSkew() { r.sel.SetFrequencyLearnt(r.loop.FrequencyLearnt()) }

// OnStep registers f to learn of every step of the clock (the NTP client
// shifts its filters). Call it before Run.
func (r *Runner) OnStep(f func(d time.Duration)) { r.onStep = f }

// Loop returns the loop, whose State any goroutine may read.
func (r *Runner) Loop() *Loop { return r.loop }

// Sources returns every source's standing as of the last selection; safe
// from any goroutine (do not modify).
func (r *Runner) Sources() []selection.SourceState { return *r.sources.Load() }

// Run drives the loop: it removes the temp files an interrupted save left,
// loads the drift file (an absent, corrupt or out-of-range one means 0 ppm
// and a warning; a value the servo cannot lock with is dropped at its first
// re-acquisition and the file rewritten at the next lock), passes each sample through the selection and
// feeds the system peer's into the loop, ticks every second, saves the
// drift file hourly and when ctx ends, and logs lock changes, steps, leap
// flags and clock errors (the loop resets its servo on actuator errors;
// Run carries on). It returns when ctx is done. Run is the only goroutine
// that may call the loop's methods other than State. Call it once.
func (r *Runner) Run(ctx context.Context, samples <-chan source.Sample) error {
	loop, driftPath, log := r.loop, r.driftPath, r.log
	if driftPath != "" {
		if removed, err := RemoveStaleTemps(driftPath); err != nil {
			log.Warn("cannot remove stale drift temp files", "err", err)
		} else if len(removed) > 0 {
			log.Info("removed stale drift temp files", "files", removed)
		}
		d, err := ReadDrift(driftPath)
		if err == nil {
			err = loop.SetInitialFrequency(d.FreqPPB)
		}
		if err != nil {
			log.Warn("no usable drift file, starting from 0 ppm", "path", driftPath, "err", err)
			// 0 ppm explicitly, not whatever the kernel was left with.
			if err := loop.clk.SetFrequencyPPB(0); err != nil {
				log.Warn("cannot reset the clock frequency", "err", err)
			}
		} else {
			log.Info("drift file loaded", "path", driftPath, "freq_ppb", d.FreqPPB, "saved", d.Time)
		}
	}
	save := func() {
		if driftPath == "" {
			return
		}
		ppb, ok := loop.DriftPPB()
		if !ok {
			return
		}
		if err := WriteDrift(driftPath, Drift{FreqPPB: ppb, Time: time.Now().UTC()}); err != nil {
			log.Warn("drift file not saved", "err", err)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSave := time.Now()
	// rewrite: the file's value was discarded; save the first real estimate.
	rewrite := false
	for {
		select {
		case <-ctx.Done():
			save()
			return nil
		case s, ok := <-samples:
			if !ok {
				samples = nil
				continue
			}
			r.sel.Slewed(loop.TakeSlewed(loop.clk.Now()))
			res, err := r.sel.Add(s)
			log.Debug("sample", "source", s.Source, "offset", s.Offset, "use", res.Use, "peer", res.Identity.Peer)
			if err != nil {
				log.Error("sample dropped", "err", err)
				continue
			}
			if res.Use {
				ev := loop.Update(s, res.Identity)
				if ev.Stepped != 0 {
					r.sel.Stepped(ev.Stepped)
					if r.onStep != nil {
						r.onStep(ev.Stepped)
					}
				}
				r.logRefusal(ev.Refused, s.Source)
				logEvent(log, loop, ev)
				if ev.DriftDiscarded && driftPath != "" {
					log.Warn("drift file frequency discarded: the servo could not lock with it; the file is rewritten at lock", "path", driftPath)
					rewrite = true
				}
				r.setSkew()
				if ev.LockGained && rewrite {
					save()
					rewrite = false
				}
			}
			r.publishSources()
		case <-tick.C:
			r.readTemperature(time.Now())
			now := loop.clk.Now()
			r.sel.Slewed(loop.TakeSlewed(now))
			r.sel.Tick(now)
			r.publishSources()
			logEvent(log, loop, loop.Tick(now))
			if time.Since(lastSave) >= DriftSaveInterval {
				save()
				lastSave = time.Now()
			}
		}
	}
}

// RefusalLogEvery is the least interval between two logged refusals: a
// lying reference refuses a sample a second.
const RefusalLogEvery = time.Minute

// logRefusal logs a refused sample at warn, the first at once and then at
// most once per RefusalLogEvery with the count in between.
func (r *Runner) logRefusal(err error, src source.ID) {
	if err == nil {
		return
	}
	r.refusalsSince++
	if now := time.Now(); r.lastRefusalLog.IsZero() || now.Sub(r.lastRefusalLog) >= RefusalLogEvery {
		r.log.Warn("sample refused: implausible time, clock not stepped", "source", src, "err", err, "refused", r.refusalsSince)
		r.lastRefusalLog, r.refusalsSince = now, 0
	}
}

func (r *Runner) publishSources() {
	st := r.sel.States()
	r.sources.Store(&st)
	if r.prevStates == nil {
		r.prevStates = map[source.ID]selection.State{}
	}
	for _, s := range st {
		prev, seen := r.prevStates[s.ID]
		if seen && prev == s.State {
			continue
		}
		r.prevStates[s.ID] = s.State
		switch s.State {
		case selection.StateFalseticker:
			r.log.Warn("source is a falseticker: it disagrees with the others and is not used", "source", s.ID,
				"offset", s.Last.Offset, "alarm", r.sel.Alarm())
		case selection.StateSystemPeer:
			r.log.Info("system peer", "source", s.ID, "kind", s.Last.Kind.String(), "offset", s.Last.Offset)
		default:
			if seen && prev == selection.StateFalseticker {
				r.log.Info("source agrees again", "source", s.ID, "state", s.State.String())
			}
		}
	}
	if a := r.sel.Alarm(); a != r.alarm {
		if a != "" {
			r.log.Warn("selection alarm", "alarm", a)
		}
		r.alarm = a
		r.alarmView.Store(&a)
	}
}

// Alarm returns the selection's current alarm ("" when none).
func (r *Runner) Alarm() string { return *r.alarmView.Load() }

func logEvent(log *slog.Logger, loop *Loop, ev Event) {
	if ev.ActuatorErr != nil {
		log.Error("clock actuator failed, servo reset", "err", ev.ActuatorErr)
	}
	if ev.FlagErr != nil {
		log.Error("cannot set the clock's sync state or leap flag", "err", ev.FlagErr)
	}
	if ev.Stepped != 0 {
		log.Warn("clock stepped", "step", ev.Stepped)
	}
	if ev.Reacquired {
		log.Warn("reference moved: servo re-acquired")
	}
	if ev.LockGained {
		st := loop.State()
		log.Info("lock gained", "peer", st.Peer, "refid", st.RefID.String(), "offset", st.OffsetEst, "freq_ppb", st.FreqPPB)
	}
	if ev.LockLost {
		log.Warn("lock lost")
	}
	if ev.LeapChanged {
		log.Info("leap flag", "leap", ev.LeapArmed)
	}
}
