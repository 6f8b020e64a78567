package board

import (
	"slices"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
)

// NoPin marks a Hat whose PPS output reaches no known GPIO pin.
const NoPin = -1

// Hat describes how a GPS hat is wired to the Pi.
type Hat struct {
	// Name is the profile name, e.g. "uputronics-gps-rtc".
	Name string
	// Aliases are short names Profile takes too, e.g. "uputronics".
	Aliases []string
	// Title is the maker's product name.
	Title string
	// Receiver is the GNSS module on the hat.
	Receiver string
	// SerialPath is the UART the receiver's NMEA arrives on.
	SerialPath string
	// Baud is the UART speed the receiver starts at, in bits per second.
	Baud int
	// PPSDevice is the kernel PPS device the pps-gpio overlay creates for
	// PPSPin (dtoverlay=pps-gpio,gpiopin=N), or "" for none.
	PPSDevice string
	// PPSPin is the GPIO line carrying the pulse (on the header chip, the
	// BCM GPIO number), or NoPin.
	PPSPin int
	// GPIOChip names the chip of PPSPin ("gpiochip0" or a /dev path); ""
	// means the 40-pin header's chip, found by its label.
	GPIOChip string
	// Polarity is the pulse edge that marks the second.
	Polarity pps.Polarity
	// EdgeDelay is how late the local edge stamp is after the true second,
	// the same sign as the config file's edge_delay: the true second began
	// at stamp - EdgeDelay. Wiring, level shifters and interrupt latency
	// make it positive; an antenna cable delay the receiver does not
	// compensate (about 5 ns per metre of coax) makes it negative, since
	// the receiver takes the cable for clock error and pulses early.
	EdgeDelay time.Duration
	// NMEADelay is how long after the pulse the time sentence typically
	// ends (receiver- and load-dependent; a starting point for the locker,
	// not a correction).
	NMEADelay time.Duration
	// ConfigTxt are the lines the hat needs in the Pi's
	// /boot/firmware/config.txt: the UART, and the pps-gpio overlay that
	// makes PPSDevice from PPSPin. (Pi 3, 4 and Zero 2 W also want
	// dtoverlay=disable-bt, which depends on the Pi, not the hat.)
	ConfigTxt []string
	// Notes says what is unverified or needs configuration.
	Notes string
}

// hats are the hats gnomon knows, one row each. Pins and rates follow the
// makers' documentation as far as it was checked; Notes say where not.
var hats = []Hat{
	{
		Name:       "adafruit-ultimate-gps",
		Aliases:    []string{"adafruit"},
		Title:      "Adafruit Ultimate GPS HAT",
		Receiver:   "MediaTek MT3339 (PA6H / PA1616)",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     4,
		Polarity:   pps.Rising,
		EdgeDelay:  0,
		NMEADelay:  350 * time.Millisecond,
		ConfigTxt:  []string{"enable_uart=1", "dtoverlay=pps-gpio,gpiopin=4"},
		Notes:      "the coin cell backs the receiver; there is no Linux RTC on this hat",
	},
	{
		Name:       "uputronics-gps-rtc",
		Aliases:    []string{"uputronics"},
		Title:      "Uputronics GPS/RTC HAT",
		Receiver:   "u-blox MAX-M8Q",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     18,
		Polarity:   pps.Rising,
		EdgeDelay:  0,
		NMEADelay:  150 * time.Millisecond,
		ConfigTxt:  []string{"enable_uart=1", "dtoverlay=pps-gpio,gpiopin=18"},
		Notes:      "UART configurable up to 115200 baud; RV3028 RTC on I2C",
	},
	{
		Name:       "waveshare-l76x",
		Aliases:    []string{"waveshare"},
		Title:      "Waveshare L76X GPS HAT",
		Receiver:   "Quectel L76X",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "",
		PPSPin:     NoPin,
		Polarity:   pps.Rising,
		EdgeDelay:  0,
		NMEADelay:  300 * time.Millisecond,
		ConfigTxt:  []string{"enable_uart=1"},
		Notes:      "PPS pin not verified against Waveshare's documentation: NMEA only unless pps_pin is set",
	},
	{
		Name:       "ublox-neo-m8",
		Aliases:    []string{"ublox", "neo-m8"},
		Title:      "hand-wired u-blox NEO-M8N/M8T",
		Receiver:   "u-blox NEO-M8",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     18,
		Polarity:   pps.Rising,
		EdgeDelay:  0,
		NMEADelay:  150 * time.Millisecond,
		ConfigTxt:  []string{"enable_uart=1", "dtoverlay=pps-gpio,gpiopin=18"},
		Notes:      "PPS may be wired to any GPIO (GPIO18 is usual): set pps_pin to match",
	},
}

// Names lists the known hat profiles, sorted.
func Names() []string {
	names := make([]string, 0, len(hats))
	for _, h := range hats {
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}

// Profile returns the named hat profile; its short names (Hat.Aliases:
// adafruit, uputronics, waveshare, ublox, neo-m8) work too. An unknown name
// is a *FieldError about Config.Hat.
func Profile(name string) (Hat, error) {
	for _, h := range hats {
		if h.Name == name || slices.Contains(h.Aliases, name) {
			h.Aliases, h.ConfigTxt = slices.Clone(h.Aliases), slices.Clone(h.ConfigTxt)
			return h, nil
		}
	}
	return Hat{}, fieldErr("Hat", "unknown hat %q (known: %s)", name, strings.Join(Names(), ", "))
}

// HasPPS reports whether the hat's pulse reaches the Pi somewhere.
func (h Hat) HasPPS() bool { return h.PPSDevice != "" || h.PPSPin != NoPin }
