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
	// makes PPSDevice from PPSPin. (Where Bluetooth holds the UART the Pi
	// also wants dtoverlay=disable-bt: that is the Board's, not the hat's.)
	ConfigTxt []string
	// Notes says what is unverified or needs configuration.
	Notes string
	// PinFromUser is true for a hand-wired receiver: the PPS pin is the
	// user's choice, so gnomon setup requires it (--pps-pin); PPSPin is
	// only the usual choice.
	PinFromUser bool
	// Unconfirmed lists facts of this row not confirmed against the
	// maker's documentation; gnomon setup prints each as a warning.
	Unconfirmed []string
}

// hats are the hats gnomon knows, one row each. Each fact's source is in
// the row's comment; what could not be confirmed is in Unconfirmed, and
// gnomon setup warns about it.
var hats = []Hat{
	// Adafruit product 2324 and its guide "Adafruit Ultimate GPS HAT for
	// Raspberry Pi" (pinouts: PPS on GPIO4, TX/RX on GPIO14/15, 9600 baud
	// NMEA default of the MTK3339); HARDWARE.md "GPS hats".
	{
		Name:       "adafruit-ultimate-gps",
		Aliases:    []string{"adafruit", "adafruit-gps", "ultimate-gps"},
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
		Unconfirmed: []string{
			"adafruit-ultimate-gps: the 350 ms NMEA delay is a starting value, not measured on this hat",
		},
	},
	// Uputronics GPS/RTC HAT datasheet: pin 12 GPIO18 TIME PULSE, u-blox
	// MAX-M8Q at 9600 baud (configurable to 115200), RV3028 RTC on I2C;
	// HARDWARE.md "GPS hats".
	{
		Name:       "uputronics-gps-rtc",
		Aliases:    []string{"uputronics", "uputronics-gps", "uputronics-rtc"},
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
	// Waveshare L76X GPS HAT: Quectel L76X at 9600 baud (Waveshare wiki,
	// L76X GPS HAT: "baudrate 4800~115200, 9600 by default"). Whether and
	// where its PPS reaches the header was not confirmed (the hat has a
	// UART selection jumper): NMEA only until pps_pin is set.
	{
		Name:       "waveshare-l76x",
		Aliases:    []string{"waveshare", "l76x", "waveshare-l76"},
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
		Unconfirmed: []string{
			"waveshare-l76x: the PPS pin is not confirmed, so gnomon serves from NMEA alone (milliseconds); if the hat's PPS reaches a GPIO, give it with --pps-pin",
			"waveshare-l76x: set the hat's UART jumper to the Pi's header UART",
		},
	},
	// Waveshare MAX-M8Q GNSS HAT: u-blox MAX-M8Q, 9600 baud (u-blox M8
	// default, receiver description UBX-13003221). Its PPS routing to the
	// header was not confirmed: NMEA only until pps_pin is set.
	{
		Name:       "waveshare-max-m8q",
		Aliases:    []string{"max-m8q", "waveshare-m8q"},
		Title:      "Waveshare MAX-M8Q GNSS HAT",
		Receiver:   "u-blox MAX-M8Q",
		SerialPath: "/dev/serial0",
		Baud:       9600,
		PPSDevice:  "",
		PPSPin:     NoPin,
		Polarity:   pps.Rising,
		EdgeDelay:  0,
		NMEADelay:  150 * time.Millisecond,
		ConfigTxt:  []string{"enable_uart=1"},
		Notes:      "PPS pin not verified against Waveshare's documentation: NMEA only unless pps_pin is set",
		Unconfirmed: []string{
			"waveshare-max-m8q: the PPS pin is not confirmed, so gnomon serves from NMEA alone (milliseconds); if the hat's PPS reaches a GPIO, give it with --pps-pin",
		},
	},
	// A u-blox NEO-M8 or NEO-M9 module wired by hand: 9600 baud NMEA is
	// the u-blox default (M8 receiver description UBX-13003221, M9 interface
	// description UBX-19035940); TIMEPULSE rising on the second by default.
	// The pin is the builder's: setup requires --pps-pin (GPIO18 is usual).
	{
		Name:        "ublox-neo-m8",
		Aliases:     []string{"ublox", "neo-m8", "neo-m9", "ublox-neo-m9", "ublox-neo"},
		Title:       "hand-wired u-blox NEO-M8/M9",
		Receiver:    "u-blox NEO-M8 or NEO-M9",
		SerialPath:  "/dev/serial0",
		Baud:        9600,
		PPSDevice:   "/dev/pps0",
		PPSPin:      18,
		Polarity:    pps.Rising,
		EdgeDelay:   0,
		NMEADelay:   150 * time.Millisecond,
		ConfigTxt:   []string{"enable_uart=1", "dtoverlay=pps-gpio,gpiopin=18"},
		Notes:       "PPS may be wired to any GPIO (GPIO18 is usual): set pps_pin to match",
		PinFromUser: true,
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

// Profile returns the named hat profile, case-insensitively; its short
// names (Hat.Aliases: adafruit, uputronics, waveshare, max-m8q, ublox,
// neo-m8, neo-m9, ...) work too. An unknown name is a *FieldError about
// Config.Hat.
func Profile(name string) (Hat, error) {
	want := strings.ToLower(strings.TrimSpace(name))
	for _, h := range hats {
		if h.Name == want || slices.Contains(h.Aliases, want) {
			h.Aliases, h.ConfigTxt = slices.Clone(h.Aliases), slices.Clone(h.ConfigTxt)
			h.Unconfirmed = slices.Clone(h.Unconfirmed)
			return h, nil
		}
	}
	return Hat{}, fieldErr("Hat", "unknown hat %q (known: %s)", name, strings.Join(Names(), ", "))
}

// HasPPS reports whether the hat's pulse reaches the Pi somewhere.
func (h Hat) HasPPS() bool { return h.PPSDevice != "" || h.PPSPin != NoPin }
