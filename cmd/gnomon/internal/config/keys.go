package config

import (
	"errors"
	"net"
	"path/filepath"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/server"
)

// key is a file key that sets a field of a package's Config: a
// *FieldError the package reports about the field is reported at the key's
// line.
type key struct {
	// name is the dotted key, e.g. "board.baud".
	name string
	// pkg is the package, e.g. "board"; field the field's path in its
	// Config, as the package's FieldError names it, e.g. "Baud".
	pkg, field string
	// profile: a value the file leaves out is the hat profile's, so a
	// problem with it is about board.hat.
	profile bool
}

// keys maps the file's keys to the package fields they set (the mapping
// itself is BoardConfig, RefclockConfig, DisciplineConfig and
// ServerConfig). The packages own every bound and default; the file layer
// only names the line. Keys of no package (drift, leap seconds and temperature files,
// [system]) are checked by Validate itself.
var keys = []key{
	{"board.hat", "board", "Hat", false},
	{"board.serial_path", "board", "SerialPath", true},
	{"board.baud", "board", "Baud", true},
	{"board.pps_device", "board", "PPSDevice", true},
	{"board.pps_pin", "board", "PPSPin", true},
	{"board.gpio_chip", "board", "GPIOChip", true},
	{"board.polarity", "board", "Polarity", true},
	{"board.edge_delay", "board", "EdgeDelay", true},
	{"board.edge_delay", "refclock", "Locker.EdgeDelay", true},
	{"board.pps_method", "board", "PPSMethod", false},
	{"board.capture_clear", "board", "CaptureClear", false},
	{"refclock.nmea_delay", "refclock", "Locker.NMEADelay", true},
	{"refclock.max_nmea_delay", "refclock", "Locker.MaxNMEADelay", false},
	{"refclock.nmea_delay_error", "refclock", "NMEADelayErr", false},
	{"refclock.accept_invalid", "refclock", "Locker.AcceptInvalid", false},
	{"discipline.step_threshold", "discipline", "StepThreshold", false},
	{"discipline.max_step", "discipline", "MaxStep", false},
	{"ntp.refclock_holdover", "selection", "RefclockHoldover", false},
	{"ntp.max_gps_disagreement", "selection", "MaxRefclockDisagreement", false},
	{"server.listen", "server", "ListenAddrs", false},
	{"server.rate_interval", "server", "RateInterval", false},
	{"server.rate_burst", "server", "RateBurst", false},
}

// keyNamed returns the key called name.
func keyNamed(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// keyOf returns the key that sets field of pkg's Config.
func keyOf(pkg, field string) (key, bool) {
	for _, k := range keys {
		if k.pkg == pkg && k.field == field {
			return k, true
		}
	}
	return key{}, false
}

// packageErrors returns err, from pkg's Validate, as *Errors: a
// *FieldError at the line of the key that sets its field; a field no key
// sets (or an error of no field) at pkg's section.
func (c *Config) packageErrors(pkg string, err error) error {
	var errs []error
	for _, e := range fielderr.All(err) {
		var fe *fielderr.Error
		switch {
		case !errors.As(e, &fe):
			errs = append(errs, c.Errorf(pkg, "%v", e))
		case fe.Field == "":
			errs = append(errs, c.Errorf(pkg, "%v", fe.Err))
		default:
			k, ok := keyOf(pkg, fe.Field)
			if !ok {
				errs = append(errs, c.Errorf(pkg, "%s: %v", fe.Field, fe.Err))
				continue
			}
			errs = append(errs, c.Errorf(k.name, "%v", fe.Err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks every field and returns all problems found, each an
// *Error naming its line and field: the packages' own checks of the
// configs the file makes (board, refclock, discipline, server), and the
// file's keys of no package.
func (c *Config) Validate() error {
	var errs []error
	hat, err := c.Hat()
	if err != nil {
		errs = append(errs, err)
		// Check the refclock against the profile alone.
		hat, _ = board.Profile(c.Board.Hat)
	}
	errs = append(errs,
		c.packageErrors("refclock", c.RefclockConfig(hat).Validate()),
		c.packageErrors("discipline", c.DisciplineConfig().Validate()),
		c.packageErrors("server", c.ServerConfig().Validate()),
		c.packageErrors("selection", c.SelectionConfig().Validate()))

	bad := func(key, format string, args ...any) { errs = append(errs, c.Errorf(key, format, args...)) }
	d := c.Discipline
	if d.DriftFile != "" && !filepath.IsAbs(d.DriftFile) {
		bad("discipline.drift_file", "%q is not an absolute path (empty disables the drift file)", d.DriftFile)
	}
	if d.LeapSecondsFile != "" && !filepath.IsAbs(d.LeapSecondsFile) {
		bad("discipline.leap_seconds_file", "%q is not an absolute path (empty disables leap seconds)", d.LeapSecondsFile)
	}
	if d.TemperatureFile != "" && !filepath.IsAbs(d.TemperatureFile) {
		bad("discipline.temperature_file", "%q is not an absolute path (empty disables the temperature sensor)", d.TemperatureFile)
	}
	s := c.System
	if s.Group != "" && s.User == "" {
		bad("system.group", "is only used with user")
	}
	if _, err := ParseLogLevel(s.LogLevel); err != nil {
		bad("system.log_level", "%v", err)
	}
	ups, err := c.Upstreams()
	if err != nil {
		errs = append(errs, err)
	}
	if c.Board.SerialPath == board.SerialNone && len(ups) == 0 && err == nil {
		bad("board.serial_path", "none (a bare PPS wire) needs [ntp] servers or pools: the pulses are numbered from their time")
	}
	if v := c.Views; v.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(v.HTTPListen); err != nil {
			bad("views.http_listen", "%q is not host:port (e.g. \"127.0.0.1:8123\"): %v", v.HTTPListen, err)
		}
	}
	if v := c.Views.ControlSocket; v != nil && *v != "" && !filepath.IsAbs(*v) {
		bad("views.control_socket", "%q is not an absolute path (empty turns the socket off)", *v)
	}
	return errors.Join(errs...)
}

// CheckListen reports whether addr is an address the server listens on
// (the server's rule: a literal IP address and a port, 0 picking a free
// one), for --ntp-listen.
func CheckListen(addr string) error {
	s := server.DefaultConfig()
	s.ListenAddrs = []string{addr}
	err := s.Validate() // the defaults are valid: any error is the address's
	if fe := (*fielderr.Error)(nil); errors.As(err, &fe) {
		return fe.Err
	}
	return err
}
