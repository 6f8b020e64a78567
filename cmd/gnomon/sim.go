package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
)

// The simulated clock's start: ahead of the host clock by more than the
// discipline's step threshold and 30 ppm fast (a Pi crystal's typical
// error), so the log shows a step, then a lock, then a slewed frequency.
const (
	simStartOffset = 200 * time.Millisecond
	simFreqPPM     = 30
	simWander      = 1e-9
	simSeed        = 1
	simBaud        = 9600
	simListen      = "127.0.0.1:11123"
	simStatusEvery = 10 * time.Second
)

// simTime serves the simulated clock: a kernel receive timestamp (host
// time, which is true time in simulation) maps to the simulated clock's
// reading at that instant.
type simTime struct{ c *discipline.SimClock }

func (s simTime) Now() time.Time                   { return s.c.Now() }
func (s simTime) FromSystem(t time.Time) time.Time { return s.c.At(t) }

// runSim runs the whole appliance on a simulated GPS hat: true time is the
// host clock, the disciplined clock is simulated, NMEA travels through a
// real pseudo-terminal to the real serial reader. The host clock is never
// changed.
func runSim(ctx context.Context, f *runFlags, stderr io.Writer) error {
	// The file's defaults, but on a loopback port and without a drift file
	// unless asked (a simulated crystal's drift is no use later); the
	// command line overrides them as it does a config file.
	cfg := config.Default()
	cfg.Server.Listen = []string{simListen}
	cfg.Discipline.DriftFile = ""
	cfg.Apply(f.over)
	log := newLogger(stderr, cfg.System.LogLevel)
	clk := discipline.NewSimClock(discipline.SimClockConfig{
		InitialOffset: simStartOffset,
		FreqPPM:       simFreqPPM,
		Wander:        simWander,
		Seed:          simSeed,
	}, time.Now)
	hatCfg := simhat.DefaultConfig()
	hatCfg.TimeError, hatCfg.ErrorAfter = f.simGPSError, f.simGPSErrorAfter
	hatCfg.OutageAfter, hatCfg.OutageFor = f.simOutageAfter, f.simOutageFor
	hatCfg.NoNMEA = f.simNoNMEA
	hat, err := simhat.New(clk, hatCfg)
	if err != nil {
		return err
	}
	defer hat.Close()
	log.Info("simulated GPS hat", "serial", hat.SerialPath(), "pps_jitter", hatCfg.PPSJitter,
		"clock_offset", simStartOffset, "clock_freq_ppm", simFreqPPM)

	// The port is opened before a privilege drop; reopens after it work
	// because the pty then belongs to the user.
	serial, err := board.OpenSerial(hat.SerialPath(), simBaud)
	if err != nil {
		return err
	}
	// As root: to system.user, or the user gnomon if it exists, keeping
	// at most CAP_NET_BIND_SERVICE (the simulated clock needs no right).
	priv, err := planPrivileges(cfg.System.User, cfg.System.Group, os.Geteuid(), simKeep(cfg.Server.Listen))
	if err != nil {
		serial.Close()
		return err
	}
	priv.lenient = true
	if priv.uid >= 0 || priv.gid >= 0 {
		if err := os.Chown(hat.SerialPath(), priv.uid, priv.gid); err != nil {
			serial.Close()
			return fmt.Errorf("simulated hat: %w", err)
		}
	}
	// The simulated clock starts from the host's, so the bounds are the
	// hardware's: the build date on. Receiver dates are read against them.
	plausible := discipline.PlausibleBounds(builtAt(), cfg.Discipline.DriftFile)
	rcfg := refclock.DefaultConfig()
	rcfg.NMEA.Pivot = plausible.Lower
	// From here the refclock owns the port and the pulse source.
	refDev, err := refclock.NewDevice(rcfg, refclock.Devices{
		Serial: serial,
		Reopen: func() (io.ReadCloser, error) { return board.OpenSerial(hat.SerialPath(), simBaud) },
		PPS:    pps.NewSim(hat.Edges(), hatCfg.PPSJitter),
	}, log.With("part", "refclock"))
	if err != nil {
		return err
	}

	dcfg := cfg.DisciplineConfig()
	dcfg.Plausible = plausible
	log.Info("plausible reference times", "from", dcfg.Plausible.Lower.Format(time.DateOnly), "to", dcfg.Plausible.Upper.Format(time.DateOnly))
	ups, err := cfg.Upstreams()
	if err != nil {
		refDev.Close()
		return err
	}
	a := &appliance{
		selCfg:    cfg.SelectionConfig(),
		upstreams: ups,
		log:       log,
		clock:     clk,
		timeSrc:   simTimeSource(f, clk),
		discCfg:   dcfg,
		srvCfg:    cfg.ServerConfig(),
		driftPath: cfg.Discipline.DriftFile,
		ref:       refDev,
		tasks:     map[string]func(context.Context) error{"simhat": hat.Run},
		views:     f.views,
		sim:       true,
		socketGID: priv.gid,
		hasPPS:    true,
		// A bare PPS wire: pulses numbered from the upstreams' time.
		ppsFromNTP: f.simNoNMEA,
	}
	a.afterListen = func() error { return dropTo(log, priv) }
	// clock_minus_host: how far the simulated clock really is from true
	// (host) time.
	a.statusLevel, a.statusEvery = slog.LevelInfo, simStatusEvery
	a.statusExtra = func() []any {
		return []any{"clock_minus_host", time.Duration(clk.TrueOffset(time.Now()) * 1e9)}
	}
	return a.run(ctx)
}
