package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/selection"
)

// entry is one key of the default file: its doc, its unit, and its
// default as a TOML value ("" when the default is the hat profile's, and
// the line is then a comment).
type entry struct {
	key, unit, doc, value string
	example               string // for a profile key: a value to show
}

func q(s string) string         { return fmt.Sprintf("%q", s) }
func qd(d time.Duration) string { return q(d.String()) }
func list(l []string) string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = q(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// entries are the default file's keys, in file order; their defaults are
// Default()'s, board's and the packages'.
func entries() []entry {
	d := Default()
	bd := board.DefaultConfig()
	return []entry{
		{"board.hat", "profile name", "GPS hat profile: " + strings.Join(board.Names(), ", ") + " (short names such as uputronics work); empty for a custom receiver, which then needs serial_path, baud and a PPS input", q(bd.Hat), ""},
		{"board.serial_path", "device path", `the receiver's UART; "none" for a bare PPS wire, its pulses numbered from the [ntp] servers' time`, "", q("/dev/serial0")},
		{"board.baud", "bits per second", "the UART speed", "", "9600"},
		{"board.pps_device", "device path", `kernel PPS device from dtoverlay=pps-gpio,gpiopin=N; "none" for no kernel PPS`, "", q("/dev/pps0")},
		{"board.pps_pin", "BCM GPIO number", "the GPIO carrying the pulse, for the GPIO character device", "", "4"},
		{"board.gpio_chip", "chip name", "only for a pin off the 40-pin header (the header's chip is found by its label)", "", q("gpiochip0")},
		{"board.polarity", "rising or falling", "the on-time edge", "", q("rising")},
		{"board.edge_delay", "duration, signed", "calibration offset: how late the PPS stamp is after the true second (wiring, board; negative for antenna cable delay); a Pi 5 needs about 6.2µs", qd(d.Board.EdgeDelay), ""},
		{"board.pps_method", "auto, kernel, gpiochip, periph or none", "how the pulse is read", q(bd.PPSMethod), ""},
		{"board.capture_clear", "true or false", "kernel PPS: capture the clear edge", fmt.Sprint(d.Board.CaptureClear), ""},
		{"refclock.nmea_delay", "duration", "typical pulse-to-sentence delay", "", q("150ms")},
		{"refclock.max_nmea_delay", "duration", "a later sentence names no pulse", qd(d.Refclock.MaxNMEADelay), ""},
		{"refclock.nmea_delay_error", "duration", "uncertainty of nmea_delay, served as root dispersion on NMEA alone", qd(d.Refclock.NMEADelayError), ""},
		{"refclock.accept_invalid", "true or false", "use sentences the receiver marks invalid", fmt.Sprint(d.Refclock.AcceptInvalid), ""},
		{"discipline.drift_file", "absolute path", "keeps the learned frequency across restarts; empty disables it", q(d.Discipline.DriftFile), ""},
		{"discipline.step_threshold", "duration", "the first lock steps the clock beyond this offset, else slews", qd(d.Discipline.StepThreshold), ""},
		{"discipline.max_step", "duration", "once synchronised, a reference further off is refused and alarmed", qd(d.Discipline.MaxStep), ""},
		{"discipline.leap_seconds_file", "absolute path", "IERS/NIST leap-seconds.list; empty disables leap seconds", q(d.Discipline.LeapSecondsFile), ""},
		{"discipline.temperature_file", "absolute path", "sysfs temperature sensor (millidegrees Celsius) holdover's temperature model is learned against; empty disables it; a board without the default file runs without it", q(d.Discipline.TemperatureFile), ""},
		{"server.listen", "list of host:port", "UDP addresses NTP is served on", list(d.Server.Listen), ""},
		{"server.rate_interval", "duration", `per client address, once its burst is spent; "0s" turns limiting off`, qd(d.Server.RateInterval), ""},
		{"server.rate_burst", "requests", "how many requests a client address may send back to back", fmt.Sprint(d.Server.RateBurst), ""},
		{"system.user", "user name", "the user gnomon switches to after opening devices and sockets; empty stays the starting user", q(d.System.User), ""},
		{"system.group", "group name", "empty: the user's primary group", q(d.System.Group), ""},
		{"system.log_level", "debug, info, warn or error", "log level", q(d.System.LogLevel), ""},
		{"ntp.servers", `list of "HOST[:PORT] [iburst] [prefer] [minpoll N] [maxpoll N]"`, "upstream NTP servers that vouch for the GPS and stand in for it (four to seven nearby)", list(d.NTP.Servers), ""},
		{"ntp.pools", `list of "NAME [options]"`, "pool names, each giving several upstream servers", list(d.NTP.Pools), ""},
		{"ntp.refclock_holdover", "duration", "how long the clock holds over on a lost GPS before the upstreams take over", qd(d.NTP.RefclockHoldover), ""},
		{"ntp.max_gps_disagreement", "duration", "how far the GPS may be from a majority of the upstreams before it is refused (0s: only their correctness intervals)", qd(selection.DefaultMaxRefclockDisagreement), ""},
		{"views.http_listen", "host:port", "where /metrics and the status page are served; empty: not served", q(d.Views.HTTPListen), ""},
		{"views.control_socket", "absolute path", "the control socket gnomon status reads; empty turns it off", "", q("/run/gnomon/gnomon.sock")},
	}
}

// commentedDefaults say what the default of a commented-out key is, for
// keys whose default is not the hat profile's.
var commentedDefaults = map[string]string{
	"views.control_socket": "/run/gnomon/gnomon.sock on hardware, a per-user runtime path with --sim",
}

// DefaultFile is the configuration file with every key, each after a
// comment giving its unit and default. Parsed, it is the defaults; the
// keys whose default is the hat profile's are commented out.
func DefaultFile() string {
	var b strings.Builder
	b.WriteString("# gnomon configuration: every key with its unit and default (gnomon config default).\n")
	b.WriteString("# Durations need a unit (\"128ms\", \"2s\", \"24h\"); unknown keys are refused.\n")
	section := ""
	for _, e := range entries() {
		sec, name, _ := strings.Cut(e.key, ".")
		if sec != section {
			fmt.Fprintf(&b, "\n[%s]\n", sec)
			section = sec
		}
		if e.value == "" {
			def, ok := commentedDefaults[e.key]
			if !ok {
				def = "the hat profile's"
			}
			fmt.Fprintf(&b, "# %s (%s; default: %s)\n# %s = %s\n", e.doc, e.unit, def, name, e.example)
			continue
		}
		fmt.Fprintf(&b, "# %s (%s; default %s)\n%s = %s\n", e.doc, e.unit, e.value, name, e.value)
	}
	return b.String()
}
