package board

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/pps"
)

// PPS opening methods for Config.PPSMethod.
const (
	MethodAuto     = "auto"     // kernel, then gpiochip, then periph ("" too)
	MethodKernel   = "kernel"   // /dev/ppsN only (pps-gpio overlay)
	MethodGPIOChip = "gpiochip" // GPIO character device, kernel-stamped
	MethodPeriph   = "periph"   // periph WaitForEdge, user-space stamps
	MethodNone     = "none"     // NMEA only
)

// SerialNone is the Config.SerialPath of a bare PPS wire: no receiver
// UART, so no NMEA; the pulses are numbered from NTP time.
const SerialNone = "none"

// Config selects a hat profile and overrides its wiring where the
// installation differs; zero values keep the profile's setting. Its fields
// mirror the config file's [board] section.
type Config struct {
	// Hat is the profile name (see Names and Profile). Empty means a custom
	// receiver: SerialPath, Baud and a PPS input (PPSDevice or PPSPin; or
	// PPSMethod none) must then be given.
	Hat string
	// SerialPath overrides the receiver's UART, e.g. /dev/ttyAMA0;
	// SerialNone removes it (a bare PPS wire, its pulses numbered from
	// NTP time): the resolved Hat then has no SerialPath and no Baud.
	SerialPath string
	// Baud overrides the UART speed.
	Baud int
	// PPSDevice overrides the kernel PPS device; "none" removes it.
	PPSDevice string
	// PPSPin overrides the GPIO line carrying the pulse (the BCM GPIO
	// number on the header chip, 0-27; any line 0-1023 with GPIOChip).
	// nil keeps the profile's.
	PPSPin *int
	// GPIOChip names the chip of PPSPin ("gpiochip0" or "/dev/gpiochip0");
	// empty finds the header's chip by its label.
	GPIOChip string
	// Polarity overrides the on-time edge: "rising" or "falling".
	Polarity string
	// EdgeDelay overrides the profile's edge delay (see Hat.EdgeDelay);
	// its bound is the refclock Locker's, which applies it
	// (refclock.MaxEdgeDelay).
	EdgeDelay time.Duration
	// PPSMethod is MethodAuto (or ""), MethodKernel, MethodGPIOChip,
	// MethodPeriph or MethodNone.
	PPSMethod string
	// CaptureClear makes the kernel source capture the clear edge: for a
	// falling pulse on a pps-gpio overlay without assert_falling_edge.
	CaptureClear bool
}

// DefaultConfig is the Adafruit Ultimate GPS HAT with automatic PPS choice.
func DefaultConfig() Config {
	return Config{Hat: "adafruit-ultimate-gps", PPSMethod: MethodAuto}
}

// bauds are the UART speeds, in bits per second, that GPS receivers offer
// and the serial driver sets, ascending.
var bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// GPIO line numbers Config.PPSPin may take.
const (
	// MaxHeaderPin is the highest BCM GPIO on the 40-pin header (lines of
	// the header chip, which is used unless Config.GPIOChip names another).
	MaxHeaderPin = 27
	// MaxLine is the highest line number of any GPIO chip.
	MaxLine = 1023
)

// FieldError is a wrong value of one Config field: Field names it as Go
// spells it ("Baud"), Err says what is wrong.
type FieldError = fielderr.Error

// fieldErr returns a *FieldError about field.
func fieldErr(field, format string, args ...any) error {
	return fielderr.New("board", field, format, args...)
}

// Validate reports every misconfiguration, a *FieldError for each field
// (joined by errors.Join).
func (c Config) Validate() error {
	_, err := c.Resolve()
	return err
}

// Resolve returns the hat profile with c's overrides applied, or every
// misconfiguration as Validate reports it.
func (c Config) Resolve() (Hat, error) {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	var h Hat
	known := true // h is a profile (or the custom receiver) to check the method against
	if c.Hat == "" {
		h = Hat{Name: "custom", Title: "custom receiver", PPSPin: NoPin, Polarity: pps.Rising}
		if c.SerialPath == "" {
			bad("SerialPath", "required without a hat profile")
		}
		if c.Baud == 0 && c.SerialPath != SerialNone {
			bad("Baud", "required without a hat profile")
		}
		if c.PPSDevice == "" && c.PPSPin == nil && c.PPSMethod != MethodNone {
			bad("PPSDevice", "a PPS input (a PPS device or pin) is required without a hat profile, or PPS method none")
		}
	} else {
		p, err := Profile(c.Hat)
		if err != nil {
			errs = append(errs, err)
			known = false
		}
		h = p
	}
	switch c.SerialPath {
	case "":
	case SerialNone:
		h.SerialPath, h.Baud = "", 0
		if c.Baud != 0 {
			bad("Baud", "%d, but serial_path is none (no UART to set)", c.Baud)
		}
	default:
		if !filepath.IsAbs(c.SerialPath) {
			bad("SerialPath", "%q is not an absolute device path (or \"none\" for a bare PPS wire)", c.SerialPath)
		}
		h.SerialPath = c.SerialPath
	}
	if c.Baud != 0 && c.SerialPath != SerialNone {
		if !slices.Contains(bauds, c.Baud) {
			bad("Baud", "%d is not a supported baud rate (%s)", c.Baud, baudList())
		}
		h.Baud = c.Baud
	}
	switch c.PPSDevice {
	case "":
	case "none":
		h.PPSDevice = ""
	default:
		if !filepath.IsAbs(c.PPSDevice) {
			bad("PPSDevice", "%q is not an absolute device path such as /dev/pps0 (or \"none\")", c.PPSDevice)
		}
		h.PPSDevice = c.PPSDevice
	}
	if c.GPIOChip != "" {
		if strings.ContainsAny(c.GPIOChip, " \t") || (!filepath.IsAbs(c.GPIOChip) && !strings.HasPrefix(c.GPIOChip, "gpiochip")) {
			bad("GPIOChip", "%q is neither gpiochipN nor an absolute path", c.GPIOChip)
		}
		h.GPIOChip = c.GPIOChip
	}
	if c.PPSPin != nil {
		switch pin := *c.PPSPin; {
		case pin < 0 || pin > MaxLine:
			bad("PPSPin", "%d is not a GPIO line (0 to %d)", pin, MaxLine)
		case h.GPIOChip == "" && pin > MaxHeaderPin:
			bad("PPSPin", "%d is not a header GPIO (0 to %d; name the GPIO chip for lines of other chips)", pin, MaxHeaderPin)
		}
		h.PPSPin = *c.PPSPin
	}
	if c.Polarity != "" {
		p, err := pps.ParsePolarity(c.Polarity)
		if err != nil {
			bad("Polarity", "%w", err)
		}
		h.Polarity = p
	}
	if c.EdgeDelay != 0 {
		h.EdgeDelay = c.EdgeDelay
	}
	switch c.PPSMethod {
	case "", MethodAuto, MethodNone:
	case MethodKernel:
		if known && h.PPSDevice == "" {
			bad("PPSMethod", "kernel, but hat %s has no PPS device", h.Name)
		}
	case MethodGPIOChip, MethodPeriph:
		if known && h.PPSPin == NoPin {
			bad("PPSMethod", "%s, but hat %s has no PPS pin (%s)", c.PPSMethod, h.Name, h.Notes)
		}
	default:
		bad("PPSMethod", "%q is not one of auto, kernel, gpiochip, periph, none", c.PPSMethod)
	}
	if c.SerialPath == SerialNone && known && (c.PPSMethod == MethodNone || (h.PPSDevice == "" && h.PPSPin == NoPin)) {
		bad("SerialPath", "none leaves only the PPS wire, but no PPS input is configured (a PPS device or pin, and a PPS method other than none)")
	}
	if len(errs) > 0 {
		return Hat{}, errors.Join(errs...)
	}
	return h, nil
}

// baudList is bauds for messages: "1200, 2400, ...".
func baudList() string {
	s := make([]string, len(bauds))
	for i, b := range bauds {
		s[i] = strconv.Itoa(b)
	}
	return strings.Join(s, ", ")
}
