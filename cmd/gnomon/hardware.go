package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/privdrop"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/server"
	"github.com/gnomon-ntp/gnomon/views/serve"
)

// runHardware runs the appliance on a Raspberry Pi's GPS hat as the
// configuration file describes: it opens the serial port, the PPS source
// and the sockets as root, drops to the configured user (or, with none
// configured, to the user gnomon if it exists) keeping only CAP_SYS_TIME
// and CAP_NET_BIND_SERVICE, and steers the system clock.
// Misconfiguration and devices that do not open fail here, before the
// clock is touched.
func runHardware(ctx context.Context, f *runFlags, stderr io.Writer) error {
	return runHardwareWith(ctx, f, stderr, realDevices())
}

// devices are what runHardware touches outside the process: the serial
// port, the PPS source, the clock and the process's privileges. Tests
// replace them with the simulated hat and clock so the wiring from the
// config file can run without hardware and without steering the host clock.
type devices struct {
	openSerial func(path string, baud int) (io.ReadCloser, error)
	openPPS    func(hat board.Hat, opts board.OpenOptions) (pps.Source, error)
	clock      func() (discipline.Clock, server.TimeSource, error)
	drop       func(log *slog.Logger, p privileges) error
	// lockPath returns the one-instance-per-clock lock file for the drift
	// file's path ("": no lock; nil: none either, for tests on a
	// simulated clock).
	lockPath func(driftPath string) string
}

// realDevices are the Pi's: tarm/serial, kernel PPS or GPIO, adjtimex.
func realDevices() devices {
	return devices{
		openSerial: board.OpenSerial,
		openPPS:    board.OpenPPS,
		clock: func() (discipline.Clock, server.TimeSource, error) {
			c, err := discipline.NewKernelClock(nil)
			if err != nil {
				return nil, nil, err
			}
			return c, server.SystemClock{}, nil
		},
		drop:     dropTo,
		lockPath: clockLockPath,
	}
}

func runHardwareWith(ctx context.Context, f *runFlags, stderr io.Writer, dev devices) error {
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	cfg.Apply(f.over)
	if f.views.httpListen == "" {
		f.views.httpListen = cfg.Views.HTTPListen
	}
	if f.views.controlSocket == nil {
		f.views.controlSocket = cfg.Views.ControlSocket
	}
	log := newLogger(stderr, cfg.System.LogLevel)
	priv, err := planPrivileges(cfg.System.User, cfg.System.Group, os.Geteuid(), privdrop.Keep)
	if err != nil {
		return cfg.Errorf("system.user", "%v", err)
	}
	hat, err := cfg.Hat()
	if err != nil {
		return err
	}
	leaps, err := cfg.LeapTable(time.Now(), log)
	if err != nil {
		return err
	}

	// One instance per clock: two servos must never steer it.
	if dev.lockPath != nil {
		if p := dev.lockPath(cfg.Discipline.DriftFile); p == "" {
			log.Warn("no place for the clock lock file: a second instance would not be refused")
		} else {
			lock, err := lockClock(p)
			if err != nil {
				return err
			}
			defer lock.Close()
			log.Info("clock locked", "lock_file", p)
		}
	}

	// Devices, while still root.
	bare := hat.SerialPath == "" // serial_path none: a bare PPS wire
	var serial io.ReadCloser
	var reopen func() (io.ReadCloser, error)
	if bare {
		log.Info("no GPS receiver UART: a bare PPS wire, its pulses numbered from NTP time", "hat", hat.Name)
	} else {
		serial, err = dev.openSerial(hat.SerialPath, hat.Baud)
		if err != nil {
			return cfg.Errorf("board.serial_path", "%v", err)
		}
		reopen = func() (io.ReadCloser, error) { return dev.openSerial(hat.SerialPath, hat.Baud) }
		log.Info("GPS receiver", "hat", hat.Name, "serial", hat.SerialPath, "baud", hat.Baud)
	}
	closeSerial := func() {
		if serial != nil {
			serial.Close()
		}
	}
	src, err := dev.openPPS(hat, cfg.BoardConfig().OpenOptions(log.With("part", "board")))
	switch {
	case err == nil:
	case errors.Is(err, board.ErrNoPPS) && !bare:
		log.Warn("no PPS: serving from NMEA alone (millisecond accuracy, refid GPS)", "err", err)
		src = nil
	default:
		closeSerial()
		if bare {
			return cfg.Errorf("board.pps_device", "a bare PPS wire (serial_path none) needs its PPS input: %v", err)
		}
		return cfg.Errorf("board.pps_device", "%v", err)
	}
	// Receiver dates are read (two-digit years, week-number rollover)
	// against the same lower bound the discipline holds them to.
	plausible := discipline.PlausibleBounds(builtAt(), cfg.Discipline.DriftFile)
	rcfg := cfg.RefclockConfig(hat)
	rcfg.NMEA.Pivot = plausible.Lower
	// From here the refclock owns the devices and closes them.
	refDev, err := refclock.NewDevice(rcfg, refclock.Devices{
		Serial: serial,
		Reopen: reopen,
		PPS:    src,
	}, log.With("part", "refclock"))
	if err != nil {
		return cfg.Errorf("refclock", "%v", err)
	}
	clock, timeSrc, err := dev.clock()
	if err != nil {
		refDev.Close()
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
		selCfg:      cfg.SelectionConfig(),
		upstreams:   ups,
		log:         log,
		clock:       clock,
		leaps:       leaps,
		timeSrc:     timeSrc,
		discCfg:     dcfg,
		srvCfg:      cfg.ServerConfig(),
		driftPath:   cfg.Discipline.DriftFile,
		tempPath:    temperatureFile(cfg, log),
		ref:         refDev,
		afterListen: func() error { return dev.drop(log, priv) },
		statusLevel: slog.LevelInfo,
		statusEvery: hardwareStatusEvery,
		views:       f.views,
		socketGID:   priv.gid,
		hasPPS:      src != nil,
		ppsFromNTP:  bare,
	}
	if !bare {
		a.probeBaud = func(ctx context.Context) (int, error) {
			open := func(baud int) (io.ReadCloser, error) { return dev.openSerial(hat.SerialPath, baud) }
			b, err := serve.ProbeBaud(ctx, open, serve.ProbeBauds, hat.Baud, probeListen)
			// The port's speed is the terminal's, shared with the
			// refclock's descriptor: set it back.
			if r, e := open(hat.Baud); e == nil {
				r.Close()
			}
			return b, err
		}
	}
	return a.run(ctx)
}

// temperatureFile returns the temperature sensor's file for the
// discipline ("": none): discipline.temperature_file, except that the
// default file missing (a board or a container without the sensor) means
// no sensor, said at info. A file the config names is kept even if it does
// not read now: the discipline warns, keeps trying each second and says
// when it reads again.
func temperatureFile(cfg *config.Config, log *slog.Logger) string {
	p := cfg.Discipline.TemperatureFile
	if p == "" {
		log.Info("no temperature sensor: discipline.temperature_file is empty; holdover goes without the temperature model")
		return ""
	}
	c, err := discipline.ReadTemperature(p)
	switch {
	case err == nil:
		log.Info("temperature sensor", "file", p, "celsius", c)
	case cfg.Line("discipline.temperature_file") == 0 && errors.Is(err, fs.ErrNotExist):
		log.Info("no temperature sensor: holdover goes without the temperature model", "file", p)
		return ""
	}
	return p
}

// hardwareStatusEvery is the periodic status line's interval on a Pi (a
// line also follows every change of state).
const hardwareStatusEvery = 5 * time.Minute

// probeListen is how long the baud probe listens at each rate: a receiver
// sends a burst every second.
const probeListen = 3 * time.Second

// lookupIDs resolves userName (and groupName, or else the user's primary
// group) to numeric ids.
func lookupIDs(userName, groupName string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			return 0, 0, fmt.Errorf("privilege drop: %w", err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: user %s: uid %q: %w", userName, u.Uid, err)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: user %s: gid %q: %w", userName, u.Gid, err)
		}
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return 0, 0, fmt.Errorf("privilege drop: %w", err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: group %s: gid %q: %w", groupName, g.Gid, err)
		}
	}
	return uid, gid, nil
}

// defaultUser is the dedicated account a root start without system.user
// switches to when it exists (the .deb's postinst creates it). A variable
// so a test can build with -ldflags "-X main.defaultUser=NAME" and use a
// temporary account of its own.
var defaultUser = "gnomon"

// privileges is what the process becomes once its devices and sockets are
// open.
type privileges struct {
	// userName is the account switched to ("": none, the ids stay); uid
	// and gid its ids (-1: keep).
	userName string
	uid, gid int
	// keep are the capabilities kept (privdrop numbers; none: empty).
	keep []int
	// why says, when no account is switched to from root, why not.
	why string
	// lenient makes a binary that links cgo (and so cannot drop on every
	// thread) a warning instead of an error: the simulation, which never
	// touches the clock.
	lenient bool
}

// planPrivileges resolves the account to switch to: system.user (with
// system.group, or else the user's primary group) when it is set; else,
// for a process started as root (euid 0), defaultUser if that account
// exists; else none, and the uid stays what it is. keep is the set of
// capabilities to keep.
func planPrivileges(cfgUser, cfgGroup string, euid int, keep []int) (privileges, error) {
	p := privileges{uid: -1, gid: -1, keep: keep}
	name := cfgUser
	if name == "" && euid == 0 {
		if _, err := user.Lookup(defaultUser); err == nil {
			name = defaultUser
		} else {
			p.why = fmt.Sprintf("no system.user configured and no user %s (%v)", defaultUser, err)
		}
	}
	if name == "" && cfgGroup == "" {
		return p, nil
	}
	uid, gid, err := lookupIDs(name, cfgGroup)
	if err != nil {
		return p, err
	}
	p.userName, p.uid, p.gid = name, uid, gid
	if uid == 0 {
		p.why = "system.user is " + name + " (uid 0)"
	}
	return p, nil
}

// simKeep is what gnomon run --sim keeps: CAP_NET_BIND_SERVICE when one of
// its NTP addresses is a privileged port (a rebind needs it), else
// nothing; never CAP_SYS_TIME, since the simulated clock is the one it
// steers.
func simKeep(listen []string) []int {
	for _, a := range listen {
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 1024 {
			return []int{privdrop.CapNetBindService}
		}
	}
	return nil
}

// dropTo switches to p's ids (-1: keep) keeping only p.keep, on every
// thread. Without root it can only reduce the capabilities it was started
// with. It logs what the process then is: "privileges dropped" only when
// the uid is no longer 0; a process that stays root says so at warn.
func dropTo(log *slog.Logger, p privileges) error {
	uid, gid := p.uid, p.gid
	// Started as the configured user already (systemd User= with
	// AmbientCapabilities=): no id to change, and no right to.
	if os.Geteuid() != 0 {
		if uid == os.Geteuid() {
			uid = -1
		}
		if gid == os.Getegid() {
			gid = -1
		}
		// Nothing beyond what is kept: nothing to drop (an unprivileged
		// gnomon run --sim).
		if eff, err := privdrop.Effective(); err == nil && eff&^privdrop.Mask(p.keep) == 0 && uid < 0 && gid < 0 {
			log.Debug("no privileges to drop", "uid", os.Getuid(), "kept", privdrop.Names(p.keep))
			return nil
		}
	}
	kept := privdrop.Names(p.keep)
	if err := privdrop.Drop(uid, gid, p.keep); err != nil {
		if p.lenient && errors.Is(err, privdrop.ErrCgo) {
			log.Warn("privileges not dropped: every capability and the uid stay", "uid", os.Getuid(), "err", err)
			return nil
		}
		return err
	}
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		why := p.why
		if why == "" {
			why = "no user to switch to"
		}
		log.Warn("running as root: the uid stays 0 (only the capabilities are reduced); set system.user or create the user "+defaultUser,
			"reason", why, "kept", kept)
		return nil
	}
	log.Info("privileges dropped", "user", p.userName, "uid", os.Getuid(), "gid", os.Getgid(), "kept", kept)
	return nil
}
