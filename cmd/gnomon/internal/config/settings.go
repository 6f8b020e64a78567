package config

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/leap"
	"github.com/gnomon-ntp/gnomon/ntpclient"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/server"
)

// Overrides are the command line's settings; each one set replaces the
// file's (or the default's) value.
type Overrides struct {
	// Listen replaces server.listen when not empty (--ntp-listen).
	Listen []string
	// DriftFile replaces discipline.drift_file when not nil; "" disables
	// the drift file (--drift-file).
	DriftFile *string
	// LogLevel replaces system.log_level when not empty (--log-level).
	LogLevel string
	// User replaces system.user when not empty, and then clears
	// system.group: the user's primary group is used (--user).
	User string
	// NoRateLimit turns rate limiting off: server.rate_interval becomes 0
	// (--no-rate-limit).
	NoRateLimit bool
	// Upstreams are added to ntp.servers (--upstream).
	Upstreams []string
	// RefclockHoldover replaces ntp.refclock_holdover when not 0
	// (--refclock-holdover).
	RefclockHoldover time.Duration
}

// SelectionConfig returns the selection settings: its defaults with
// ntp.refclock_holdover and ntp.max_gps_disagreement.
func (c *Config) SelectionConfig() selection.Config {
	s := selection.DefaultConfig()
	s.RefclockHoldover = c.NTP.RefclockHoldover
	if d := c.NTP.MaxGPSDisagreement; d != nil {
		s.MaxRefclockDisagreement = *d
	}
	return s
}

// Apply merges o into c: every override set replaces the field it names.
func (c *Config) Apply(o Overrides) {
	if len(o.Listen) > 0 {
		c.Server.Listen = append([]string(nil), o.Listen...)
	}
	if o.DriftFile != nil {
		c.Discipline.DriftFile = *o.DriftFile
	}
	if o.LogLevel != "" {
		c.System.LogLevel = o.LogLevel
	}
	if o.User != "" {
		c.System.User, c.System.Group = o.User, ""
	}
	if o.NoRateLimit {
		c.Server.RateInterval = 0
	}
	c.NTP.Servers = append(c.NTP.Servers, o.Upstreams...)
	if o.RefclockHoldover != 0 {
		c.NTP.RefclockHoldover = o.RefclockHoldover
	}
}

// Upstreams returns the [ntp] servers and pools, each parsed, or an error
// naming the key.
func (c *Config) Upstreams() ([]ntpclient.Upstream, error) {
	var out []ntpclient.Upstream
	var errs []error
	for _, kl := range []struct {
		key  string
		list []string
	}{{"ntp.servers", c.NTP.Servers}, {"ntp.pools", c.NTP.Pools}} {
		key := kl.key
		for _, e := range kl.list {
			if key == "ntp.pools" && !strings.HasPrefix(strings.TrimSpace(e), "pool ") {
				e = "pool " + e
			}
			u, err := ntpclient.ParseUpstream(e)
			if err != nil {
				errs = append(errs, c.Errorf(key, "%v", err))
				continue
			}
			out = append(out, u)
		}
	}
	return out, errors.Join(errs...)
}

// BoardConfig returns the [board] section as board.Config.
func (c *Config) BoardConfig() board.Config {
	b := c.Board
	return board.Config{
		Hat:          b.Hat,
		SerialPath:   b.SerialPath,
		Baud:         b.Baud,
		PPSDevice:    b.PPSDevice,
		PPSPin:       b.PPSPin,
		GPIOChip:     b.GPIOChip,
		Polarity:     b.Polarity,
		EdgeDelay:    b.EdgeDelay,
		PPSMethod:    b.PPSMethod,
		CaptureClear: b.CaptureClear,
	}
}

// Hat returns the hat profile with the [board] section's overrides
// applied, or an *Error for each field that does not resolve.
func (c *Config) Hat() (board.Hat, error) {
	h, err := c.BoardConfig().Resolve()
	if err != nil {
		return board.Hat{}, c.packageErrors("board", err)
	}
	return h, nil
}

// RefclockConfig returns the refclock settings for hat (as Hat returns
// it): the hat's NMEA delay unless refclock.nmea_delay is set, the hat's
// edge delay, refclock.max_nmea_delay and refclock.accept_invalid; the rest
// are refclock's defaults.
func (c *Config) RefclockConfig(hat board.Hat) refclock.Config {
	r := refclock.DefaultConfig()
	r.Locker.NMEADelay = hat.NMEADelay
	if c.Refclock.NMEADelay != 0 {
		r.Locker.NMEADelay = c.Refclock.NMEADelay
	}
	r.Locker.MaxNMEADelay = c.Refclock.MaxNMEADelay
	r.Locker.EdgeDelay = hat.EdgeDelay
	r.Locker.AcceptInvalid = c.Refclock.AcceptInvalid
	r.NMEADelayErr = c.Refclock.NMEADelayError
	// Locker.PPSErr stays 0: the PPS source's Precision.
	return r
}

// DisciplineConfig returns the discipline settings: discipline's defaults
// with discipline.step_threshold and discipline.max_step.
func (c *Config) DisciplineConfig() discipline.Config {
	d := discipline.DefaultConfig()
	d.StepThreshold = c.Discipline.StepThreshold
	d.MaxStep = c.Discipline.MaxStep
	return d
}

// ServerConfig returns the server settings: the server's defaults with
// server.listen, server.rate_interval and server.rate_burst.
func (c *Config) ServerConfig() server.Config {
	s := server.DefaultConfig()
	s.ListenAddrs = append([]string(nil), c.Server.Listen...)
	s.RateInterval, s.RateBurst = c.Server.RateInterval, c.Server.RateBurst
	return s
}

// LeapTable loads discipline.leap_seconds_file, logging its expiry as of
// now (a warning once expired). It returns nil and no error when the key
// is empty (leap seconds off) or when the file is missing and the file
// did not name it (the default path; logged as a warning); any other
// failure is an *Error about the key.
func (c *Config) LeapTable(now time.Time, log *slog.Logger) (discipline.LeapSource, error) {
	const key = "discipline.leap_seconds_file"
	p := c.Discipline.LeapSecondsFile
	if p == "" {
		return nil, nil
	}
	t, err := leap.Load(p)
	switch {
	case err == nil:
		if t.Expired(now) {
			log.Warn("leap seconds table has expired: update tzdata", "file", p, "expired", t.Expires().Format(time.DateOnly))
		} else {
			log.Info("leap seconds table", "file", p, "expires", t.Expires().Format(time.DateOnly))
		}
		return t, nil
	case errors.Is(err, os.ErrNotExist) && c.Line(key) == 0:
		log.Warn("no leap seconds table: leap seconds will not be announced", "file", p)
		return nil, nil
	}
	return nil, c.Errorf(key, "%v", err)
}
