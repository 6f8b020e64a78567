// Package config reads gnomon's TOML configuration file and makes from it,
// with the command line's Overrides, the configs of the packages gnomon
// wires together (board, refclock, discipline, server). Unknown keys are
// refused, and every error names the file, line and field it is about.
// The packages own their defaults and bounds and validate their configs
// themselves; this package only maps keys to their fields (see keys) and
// checks the keys no package holds.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/safefile"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/server"
)

// Config is the whole configuration file.
type Config struct {
	// Board names the hardware: hat profile, serial port, PPS input.
	Board Board `toml:"board"`
	// Refclock tunes the pairing of pulses with NMEA sentences.
	Refclock Refclock `toml:"refclock"`
	// Discipline tunes the clock discipline.
	Discipline Discipline `toml:"discipline"`
	// Server says where NTP is served.
	Server Server `toml:"server"`
	// System holds process settings: the user to run as, logging.
	System System `toml:"system"`
	// NTP lists the upstream NTP servers beside the GPS.
	NTP NTP `toml:"ntp"`
	// Views says where the operator's views are served.
	Views Views `toml:"views"`

	file  string
	lines map[string]int // dotted key -> line of its first appearance
}

// NTP is the [ntp] section: upstream servers that vouch for (or stand in
// for) the GPS, entries as ntpclient.ParseUpstream reads them.
type NTP struct {
	// Servers are "HOST[:PORT] [iburst] [prefer] [minpoll N] [maxpoll N]".
	Servers []string `toml:"servers"`
	// Pools are names giving several addresses ("pool.ntp.org iburst").
	Pools []string `toml:"pools"`
	// RefclockHoldover is how long the clock holds over on a lost GPS
	// before the upstreams take over (default 1h).
	RefclockHoldover time.Duration `toml:"refclock_holdover"`
	// MaxGPSDisagreement is how far the GPS may be from a majority of
	// the upstreams before it is refused (default 10ms; 0s: no bound but
	// their correctness intervals).
	MaxGPSDisagreement *time.Duration `toml:"max_gps_disagreement"`
}

// Board is the [board] section, mapped to board.Config by BoardConfig
// (which board validates). Fields left out take the hat profile's value.
type Board struct {
	// Hat is the GPS hat profile (board.Names, or a short name such as
	// "uputronics"); empty means a custom receiver, and then serial_path,
	// baud and a PPS input must be given.
	Hat string `toml:"hat"`
	// SerialPath is the receiver's UART device, e.g. /dev/serial0.
	SerialPath string `toml:"serial_path"`
	// Baud is the UART speed.
	Baud int `toml:"baud"`
	// PPSDevice is a kernel PPS device (/dev/ppsN, from
	// dtoverlay=pps-gpio), or "none".
	PPSDevice string `toml:"pps_device"`
	// PPSPin is the GPIO line of the PPS signal (BCM number on the header),
	// used through the GPIO character device when there is no /dev/ppsN;
	// nil keeps the profile's.
	PPSPin *int `toml:"pps_pin"`
	// GPIOChip is the GPIO chip holding PPSPin (e.g. gpiochip0); empty
	// means the header's chip, found by its label.
	GPIOChip string `toml:"gpio_chip"`
	// Polarity is the on-time edge: "rising" or "falling"; empty keeps the
	// profile's.
	Polarity string `toml:"polarity"`
	// EdgeDelay is how late the local edge stamp is after the true second
	// (wiring, level shifter; negative for an uncompensated antenna cable),
	// e.g. "150ns"; at most refclock.MaxEdgeDelay either way.
	EdgeDelay time.Duration `toml:"edge_delay"`
	// PPSMethod is auto (default), kernel, gpiochip, periph or none.
	PPSMethod string `toml:"pps_method"`
	// CaptureClear makes a kernel PPS source capture the clear edge.
	CaptureClear bool `toml:"capture_clear"`
}

// Refclock is the [refclock] section, mapped with the hat to
// refclock.Config by RefclockConfig.
type Refclock struct {
	// NMEADelay is the receiver's typical delay from the pulse to the end of
	// the sentence naming it; 0 takes the hat profile's.
	NMEADelay time.Duration `toml:"nmea_delay"`
	// MaxNMEADelay is the longest a sentence may follow its pulse and still
	// name it (refclock.LockerConfig.MaxNMEADelay; left out or 0, refclock's
	// default).
	MaxNMEADelay time.Duration `toml:"max_nmea_delay"`
	// NMEADelayError is the uncertainty of NMEADelay
	// (refclock.Config.NMEADelayErr): served as root dispersion on NMEA
	// alone until the delay is learned from pulses.
	NMEADelayError time.Duration `toml:"nmea_delay_error"`
	// AcceptInvalid uses sentences the receiver marks invalid.
	AcceptInvalid bool `toml:"accept_invalid"`
}

// Discipline is the [discipline] section; StepThreshold and MaxStep are
// mapped to discipline.Config by DisciplineConfig.
type Discipline struct {
	// DriftFile keeps the learned frequency across restarts.
	DriftFile string `toml:"drift_file"`
	// StepThreshold is the |offset| above which the first lock steps the
	// clock instead of slewing.
	StepThreshold time.Duration `toml:"step_threshold"`
	// MaxStep is the largest correction accepted once synchronised; a
	// reference further off is refused and alarmed, never stepped in.
	MaxStep time.Duration `toml:"max_step"`
	// LeapSecondsFile is an IERS/NIST leap-seconds.list (tzdata ships one);
	// NMEA carries no leap second warning. Empty disables leap seconds.
	LeapSecondsFile string `toml:"leap_seconds_file"`
	// TemperatureFile is the sysfs thermal file of the temperature sensor
	// nearest the crystal (millidegrees Celsius): the discipline learns
	// the crystal's temperature coefficient against it and uses it in
	// holdover. Empty disables it; left at the default, a board without
	// the file runs without it.
	TemperatureFile string `toml:"temperature_file"`
}

// Server is the [server] section, mapped to server.Config by
// ServerConfig; left out, a field keeps the server's default.
type Server struct {
	// Listen is the UDP addresses NTP is served on, host:port each; left
	// out, the server's default (port 123 on every IPv4 and IPv6 address).
	Listen []string `toml:"listen"`
	// RateInterval is the average interval each client address may send
	// requests at once its burst is spent; "0s" turns rate limiting off.
	RateInterval time.Duration `toml:"rate_interval"`
	// RateBurst is how many requests a client address may send back to back.
	RateBurst int `toml:"rate_burst"`
}

// Views is the [views] section; the command line's --http-listen and
// --control-socket override it.
type Views struct {
	// HTTPListen is the TCP host:port of /metrics and the status page; ""
	// (the default) serves neither.
	HTTPListen string `toml:"http_listen"`
	// ControlSocket is the absolute path of gnomon status's unix socket;
	// nil keeps the default, "" turns it off.
	ControlSocket *string `toml:"control_socket"`
}

// System is the [system] section.
type System struct {
	// User is the account gnomon switches to after opening its devices and
	// sockets, keeping only CAP_SYS_TIME and CAP_NET_BIND_SERVICE. Empty
	// means stay the user it was started as (still dropping the rest).
	User string `toml:"user"`
	// Group is the group to switch to; empty means User's primary group.
	Group string `toml:"group"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
}

// Default values of the file's own fields it leaves out (the packages'
// defaults are the packages').
const (
	// DefaultDriftFile is discipline.drift_file's default.
	DefaultDriftFile = "/var/lib/gnomon/drift"
	// DefaultLogLevel is system.log_level's default.
	DefaultLogLevel = "info"
	// DefaultLeapFile is discipline.leap_seconds_file's default, tzdata's
	// copy of the IERS list.
	DefaultLeapFile = "/usr/share/zoneinfo/leap-seconds.list"
)

// Default returns the configuration used for what a file leaves out.
func Default() *Config {
	return &Config{
		Refclock: Refclock{
			MaxNMEADelay:   refclock.DefaultLockerConfig().MaxNMEADelay,
			NMEADelayError: refclock.DefaultNMEADelayErr,
		},
		Discipline: Discipline{
			DriftFile:       DefaultDriftFile,
			StepThreshold:   discipline.DefaultConfig().StepThreshold,
			MaxStep:         discipline.DefaultConfig().MaxStep,
			LeapSecondsFile: DefaultLeapFile,
			TemperatureFile: discipline.DefaultTemperatureFile,
		},
		NTP: NTP{RefclockHoldover: selection.DefaultRefclockHoldover},
		Server: Server{
			Listen:       server.DefaultConfig().ListenAddrs,
			RateInterval: server.DefaultConfig().RateInterval,
			RateBurst:    server.DefaultConfig().RateBurst,
		},
		System: System{LogLevel: DefaultLogLevel},
		lines:  map[string]int{},
	}
}

// Error is a problem with one field of the configuration file.
type Error struct {
	// File is the configuration file's path.
	File string
	// Line is the 1-based line the field is on; 0 when the field is not in
	// the file (a default or a missing required field).
	Line int
	// Field is the dotted key, e.g. "board.baud".
	Field string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (the TOML decoder's).
	Err error
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Error formats as "file:line: field: msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// MaxFileBytes caps the configuration file read.
const MaxFileBytes = 1 << 20

// Load reads and validates the configuration file at path: a regular file
// of at most MaxFileBytes (a device, FIFO or huge file is refused unread).
func Load(path string) (*Config, error) {
	data, err := safefile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data, naming it file in errors. It refuses
// keys it does not know.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.file = file
	c.lines = keyLines(string(data))
	if errs := checkTypes(file, string(data), c.lines); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Decoding into a fresh value keeps a list written in the file from
	// being appended to the default list.
	c.Server.Listen = nil
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message, Err: err}
		}
		// Type mismatches arrive as `toml: line N (last key "k"): ...`.
		if m := typeErr.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: file, Line: line, Field: m[2], Msg: m[3], Err: err}
		}
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
	}
	if !md.IsDefined("server", "listen") {
		c.Server.Listen = Default().Server.Listen
	}
	var errs []error
	for _, k := range md.Undecoded() {
		key := strings.Join(k, ".")
		errs = append(errs, &Error{File: file, Line: c.lines[key], Field: key, Msg: "unknown key"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// typeErr matches the decoder's errors for values of the wrong type.
var typeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// File is the path the configuration was read from.
func (c *Config) File() string { return c.file }

// Line is the line the dotted key (e.g. "board.baud") is on, 0 if the file
// does not set it.
func (c *Config) Line(key string) int { return c.lines[key] }

// Errorf returns an *Error about the dotted key, with its line: for
// problems found after loading (an unknown hat profile, a device that will
// not open). A key the file leaves out whose value the hat profile gives
// (see keys) took it from the profile, so the error is about board.hat when
// the file sets that.
func (c *Config) Errorf(key, format string, args ...any) error {
	if k, ok := keyNamed(key); ok && k.profile && c.lines[key] == 0 && c.lines["board.hat"] != 0 {
		key = "board.hat"
	}
	return &Error{File: c.file, Line: c.lines[key], Field: key, Msg: fmt.Sprintf(format, args...)}
}

// keyLines maps each dotted key in a TOML document to the line where it is
// first set (or, for a table, declared). It reads only what the decoder has
// accepted already, so it need not handle errors; values spanning lines
// (multi-line strings, arrays) are skipped over.
func keyLines(doc string) map[string]int {
	lines := map[string]int{}
	var table []string
	open := "" // closing delimiter of a multi-line value in progress
	for i, raw := range strings.Split(doc, "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if open != "" {
			if strings.Contains(line, open) {
				open = ""
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			h := strings.Trim(line[:strings.IndexByte(line+"]", ']')], "[ \t")
			table = splitKey(h)
			set(lines, table, n)
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		key := append(append([]string{}, table...), splitKey(line[:eq])...)
		set(lines, key, n)
		val := strings.TrimSpace(line[eq+1:])
		switch {
		case strings.HasPrefix(val, `"""`) && strings.Count(val, `"""`) == 1:
			open = `"""`
		case strings.HasPrefix(val, "'''") && strings.Count(val, "'''") == 1:
			open = "'''"
		case strings.HasPrefix(val, "[") && strings.Count(val, "[") > strings.Count(val, "]"):
			open = "]"
		}
	}
	return lines
}

func set(lines map[string]int, key []string, n int) {
	k := strings.Join(key, ".")
	if _, ok := lines[k]; !ok {
		lines[k] = n
	}
}

// splitKey splits a dotted TOML key, dropping quotes and spaces around parts.
func splitKey(s string) []string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return parts
}
