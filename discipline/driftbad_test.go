package discipline

import (
	"testing"
	"time"
)

// TestBadDriftDiscarded: a drift file claiming +400 ppm for a crystal 30 ppm
// fast (so 430 ppm off) cannot be locked with: after the first failed
// acquisition the loop discards it, locks from scratch, and then has a real
// estimate to save.
func TestBadDriftDiscarded(t *testing.T) {
	cfg := DefaultConfig()
	r := newRig(t, cfg, SimClockConfig{FreqPPM: 30, Wander: 1e-9}, day0(), nil)
	if err := r.loop.SetInitialFrequency(400e3); err != nil {
		t.Fatal(err)
	}
	r.run(int(cfg.ReacquireAfter/time.Second)+300, nil)
	var discarded, locked int
	for _, e := range r.events {
		if e.DriftDiscarded {
			discarded++
		}
		if e.LockGained {
			locked++
		}
	}
	if discarded != 1 {
		t.Errorf("drift value discarded %d times, want once", discarded)
	}
	if !r.loop.Locked() {
		t.Fatalf("not locked %v after start (discarded %d)", time.Duration(r.k)*time.Second, discarded)
	}
	ppb, ok := r.loop.DriftPPB()
	if !ok || !near(ppb, -30e3, 500) {
		t.Errorf("drift to save %.0f ppb (%v), want about -30000", ppb, ok)
	}
}

// TestDriftBeyondSlewRefused: a drift value beyond what the servo may
// correct (MaxSlewPPM) is refused at load.
func TestDriftBeyondSlewRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSlewPPM = 300
	r := newRig(t, cfg, SimClockConfig{FreqPPM: 30}, day0(), nil)
	if err := r.loop.SetInitialFrequency(400e3); err == nil {
		t.Fatal("400 ppm accepted with a 300 ppm slew limit")
	}
	if f, _ := r.clk.FrequencyPPB(); f != 0 {
		t.Errorf("clock frequency %v ppb after a refused drift value, want 0", f)
	}
}
