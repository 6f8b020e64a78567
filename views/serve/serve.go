// Package serve is the I/O edge of the views: it keeps the History and
// the Health watcher up to date from the status snapshot, logs the faults
// and status lines, and serves the Report on the local control socket and
// the metrics and web page over HTTP.
package serve

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/status"
	"github.com/gnomon-ntp/gnomon/views"
)

// Views holds the live views of one appliance; safe from any goroutine.
type Views struct {
	snapshot func() *status.Snapshot
	log      *slog.Logger

	mu      sync.Mutex
	history *views.History
	health  *views.Health
	// syncedSince is when the clock last became synchronised.
	syncedSince time.Time
}

// Config sets up the Views.
type Config struct {
	// HasPPS says a PPS source is configured (else no-PPS is no fault).
	HasPPS bool
	// NoNMEA says the refclock is a bare PPS wire with no receiver UART
	// (views.Wiring.NoNMEA).
	NoNMEA bool
	// HealthAfter is how long a fault's condition holds before it is
	// raised (0: views.DefaultHealthAfter).
	HealthAfter time.Duration
	// StatusEvery is the interval of the periodic status line (0: none);
	// StatusLevel its level. A status line at info also follows every
	// change of sync state or fault.
	StatusEvery time.Duration
	StatusLevel slog.Level
	// StatusExtra adds attributes to the status line (nil: none).
	StatusExtra func() []any
	// ProbeBaud, when the port carries bytes but no sentence, tries the
	// other baud rates and returns the one that decodes (0: none); nil:
	// no probe.
	ProbeBaud func(ctx context.Context) (int, error)
}

// New returns the Views over snapshot; log may be nil.
func New(snapshot func() *status.Snapshot, cfg Config, log *slog.Logger) *Views {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Views{snapshot: snapshot, log: log, history: views.NewHistory()}
	v.health = views.NewHealthWired(snapshot().Time, cfg.HealthAfter, views.Wiring{PPS: cfg.HasPPS, NoNMEA: cfg.NoNMEA})
	return v
}

// Report returns the current Report, with the faults in force.
func (v *Views) Report() views.Report {
	snap := v.snapshot()
	v.mu.Lock()
	defer v.mu.Unlock()
	r := views.Build(snap, v.history)
	if r.Tracking.Synced {
		r.Tracking.SyncedSince = v.syncedSince
	}
	for _, f := range v.health.Active() {
		r.Warnings = append(r.Warnings, f.Cause())
	}
	return r
}

// Plots returns the history's last hour and last day.
func (v *Views) Plots() (hour, day []views.Point) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.history.Hour(), v.history.Day()
}

// Faults returns the faults in force.
func (v *Views) Faults() []views.Fault {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.health.Active()
}

// Run observes the snapshot every second until ctx is done: it feeds the
// history and the health watcher, logs each fault raised (warn, naming its
// likely cause) or cleared (info), and logs a status line on each change
// and every cfg.StatusEvery.
func (v *Views) Run(ctx context.Context, cfg Config) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastLine time.Time
	var lastSynced, lastLocked, first = false, false, true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		snap := v.snapshot()
		var rc refclock.Status
		if snap.Refclock != nil {
			rc = *snap.Refclock
		}
		v.mu.Lock()
		v.history.Observe(snap)
		evs := v.health.Check(snap.Time, rc, snap.Sync)
		if snap.Sync.Synced && (first || !lastSynced) {
			v.syncedSince = snap.Time
		}
		v.mu.Unlock()
		changed := len(evs) > 0 || (!first && (snap.Sync.Synced != lastSynced || rc.Locked != lastLocked))
		first = false
		lastSynced, lastLocked = snap.Sync.Synced, rc.Locked
		for _, e := range evs {
			v.logEvent(ctx, e, snap, rc)
			if e.Raised && e.Fault == views.FaultNoSentences && cfg.ProbeBaud != nil {
				go v.probe(ctx, cfg.ProbeBaud)
			}
		}
		now := time.Now()
		switch {
		case changed:
			v.statusLine(ctx, slog.LevelInfo, snap, cfg.StatusExtra)
			lastLine = now
		case cfg.StatusEvery > 0 && now.Sub(lastLine) >= cfg.StatusEvery:
			v.statusLine(ctx, cfg.StatusLevel, snap, cfg.StatusExtra)
			lastLine = now
		}
	}
}

// probe runs the baud probe and logs what it found.
func (v *Views) probe(ctx context.Context, probe func(ctx context.Context) (int, error)) {
	b, err := probe(ctx)
	switch {
	case ctx.Err() != nil:
	case b > 0:
		v.log.Warn(fmt.Sprintf("the receiver's sentences decode at %d baud: set board.baud = %d", b, b), "fault", views.FaultNoSentences.Name(), "baud", b)
	default:
		v.log.Warn("no baud rate decodes the serial port's bytes: check the wiring (TX to RX, common ground) and that the receiver speaks NMEA", "fault", views.FaultNoSentences.Name(), "err", err)
	}
}

func (v *Views) logEvent(ctx context.Context, e views.HealthEvent, snap *status.Snapshot, rc refclock.Status) {
	if !e.Raised {
		v.log.Info("cleared: "+e.Fault.Name(), "fault", e.Fault.Name(), "lasted", snap.Time.Sub(e.Since).Round(time.Second))
		return
	}
	args := []any{"fault", e.Fault.Name(), "for", snap.Time.Sub(e.Since).Round(time.Second),
		"nmea_lines", rc.NMEA.Lines, "checksum_errors", rc.NMEA.Checksum, "noise", rc.NMEA.Noise + rc.NMEA.Overlong,
		"pps_edges", rc.Locker.Edges}
	if e.Fault == views.FaultNoFix {
		args = append(args, "sats_used", rc.Receiver.Sats, "sats_in_view", rc.Receiver.InView)
	}
	v.log.Log(ctx, slog.LevelWarn, e.Fault.Cause(), args...)
}

func (v *Views) statusLine(ctx context.Context, level slog.Level, snap *status.Snapshot, extra func() []any) {
	st := snap.Sync
	args := []any{"stratum", st.Stratum, "refid", st.RefID, "synced", st.Synced,
		"offset_est", st.OffsetEst, "freq_ppb", fmt.Sprintf("%.1f", st.FreqPPB)}
	if rc := snap.Refclock; rc != nil {
		args = append(args, "pps_locked", rc.Locked, "fix", rc.Receiver.Fix, "sats", rc.Receiver.Sats)
	}
	var names []string
	for _, f := range v.Faults() {
		names = append(names, f.Name())
	}
	if len(names) > 0 {
		args = append(args, "faults", names)
	}
	if extra != nil {
		args = append(args, extra()...)
	}
	v.log.Log(ctx, level, "status", args...)
}
