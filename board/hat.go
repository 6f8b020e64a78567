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
	// Title is the maker's product name.
	Title string
	// Receiver is the GNSS module on the hat.
	Receiver string
	// SerialPath is the UART the receiver's NMEA arrives on.
	SerialPath string
	// Baud is the UART speed the receiver starts at.
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
	// Notes says what is unverified or needs configuration.
	Notes string
}

// Profiles are the hats gnomon knows, by name. Pins and rates follow the
// makers' documentation as far as it was checked; Notes say where not.
var profiles = map[string]Hat{
	"adafruit-ultimate-gps": {
		Name:       "adafruit-ultimate-gps",
		Title:      "Adafruit Ultimate GPS HAT",
		Receiver:   "MediaTek MT3339 (PA6H / PA1616)",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     4,
		Polarity:   pps.Rising,
		NMEADelay:  350 * time.Millisecond,
		Notes:      "the coin cell backs the receiver; there is no Linux RTC on this hat",
	},
	"uputronics-gps-rtc": {
		Name:       "uputronics-gps-rtc",
		Title:      "Uputronics GPS/RTC HAT",
		Receiver:   "u-blox MAX-M8Q",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     18,
		Polarity:   pps.Rising,
		NMEADelay:  150 * time.Millisecond,
		Notes:      "UART configurable up to 115200 baud; RV3028 RTC on I2C",
	},
	"waveshare-l76x": {
		Name:       "waveshare-l76x",
		Title:      "Waveshare L76X GPS HAT",
		Receiver:   "Quectel L76X",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSPin:     NoPin,
		Polarity:   pps.Rising,
		NMEADelay:  300 * time.Millisecond,
		Notes:      "PPS pin not verified against Waveshare's documentation: NMEA only unless pps_pin is set",
	},
	"ublox-neo-m8": {
		Name:       "ublox-neo-m8",
		Title:      "hand-wired u-blox NEO-M8N/M8T",
		Receiver:   "u-blox NEO-M8",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "/dev/pps0",
		PPSPin:     18,
		Polarity:   pps.Rising,
		NMEADelay:  150 * time.Millisecond,
		Notes:      "PPS may be wired to any GPIO (GPIO18 is usual): set pps_pin to match",
	},
}

// Names lists the known hat profiles, sorted.
func Names() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// aliases are short names for the profiles.
var aliases = map[string]string{
	"adafruit":   "adafruit-ultimate-gps",
	"uputronics": "uputronics-gps-rtc",
	"waveshare":  "waveshare-l76x",
	"ublox":      "ublox-neo-m8",
	"neo-m8":     "ublox-neo-m8",
}

// Profile returns the named hat profile; the short names adafruit,
// uputronics, waveshare, ublox and neo-m8 work too. An unknown name is a
// *FieldError about Config.Hat.
func Profile(name string) (Hat, error) {
	if full, ok := aliases[name]; ok {
		name = full
	}
	h, ok := profiles[name]
	if !ok {
		return Hat{}, fieldErr("Hat", "unknown hat %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return h, nil
}

// HasPPS reports whether the hat's pulse reaches the Pi somewhere.
func (h Hat) HasPPS() bool { return h.PPSDevice != "" || h.PPSPin != NoPin }
