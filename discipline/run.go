package discipline

import (
	"context"
	"log/slog"
	"time"

	"github.com/gnomon-ntp/gnomon/refclock"
)

// DriftSaveInterval is how often Run saves the drift file while locked.
const DriftSaveInterval = time.Hour

// Run drives loop at the I/O edge: it loads the drift file (an absent or
// corrupt one means 0 ppm and a warning), feeds samples as they arrive, ticks
// every second, saves the drift file hourly and when ctx ends, and logs lock
// changes, steps, leap flags and actuator errors (the loop resets its servo on
// those; Run carries on). driftPath "" disables the drift file. It returns
// when ctx is done. Run is the only goroutine that may call loop's methods
// other than State.
func Run(ctx context.Context, loop *Loop, samples <-chan refclock.Sample, driftPath string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if driftPath != "" {
		d, err := ReadDrift(driftPath)
		if err != nil {
			log.Warn("no usable drift file, starting from 0 ppm", "path", driftPath, "err", err)
			// 0 ppm explicitly, not whatever the kernel was left with.
			if err := loop.clk.SetFrequencyPPB(0); err != nil {
				log.Warn("cannot reset the clock frequency", "err", err)
			}
		} else if err := loop.SetInitialFrequency(d.FreqPPB); err != nil {
			log.Warn("cannot apply drift file frequency", "path", driftPath, "err", err)
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
			logEvent(log, loop, loop.Update(s))
		case <-tick.C:
			logEvent(log, loop, loop.Tick(loop.clk.Now()))
			if time.Since(lastSave) >= DriftSaveInterval {
				save()
				lastSave = time.Now()
			}
		}
	}
}

func logEvent(log *slog.Logger, loop *Loop, ev Event) {
	if ev.Err != nil {
		log.Error("clock actuator failed, servo reset", "err", ev.Err)
	}
	if ev.Stepped != 0 {
		log.Warn("clock stepped", "step", ev.Stepped)
	}
	if ev.Reacquired {
		log.Warn("reference moved: servo re-acquired")
	}
	if ev.LockGained {
		st := loop.State()
		log.Info("lock gained", "refid", st.RefID, "offset", st.OffsetEst, "freq_ppb", st.FreqPPB)
	}
	if ev.LockLost {
		log.Warn("lock lost")
	}
	if ev.LeapChanged {
		log.Info("leap flag", "leap", ev.LeapArmed)
	}
}
