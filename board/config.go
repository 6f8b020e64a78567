package board

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
)

// PPS opening methods for Config.PPSMethod.
const (
	MethodAuto     = "auto"     // kernel, then gpiochip, then periph
	MethodKernel   = "kernel"   // /dev/ppsN only (pps-gpio overlay)
	MethodGPIOChip = "gpiochip" // GPIO character device, kernel-stamped
	MethodPeriph   = "periph"   // periph WaitForEdge, user-space stamps
	MethodNone     = "none"     // NMEA only
)

// maxCableDelay bounds Config.CableDelay: 1 µs is some 200 m of coax.
const maxCableDelay = time.Microsecond

// Config selects a hat profile and overrides its wiring where the
// installation differs. Zero values keep the profile's setting.
type Config struct {
	// Hat is the profile name (see Names).
	Hat string
	// SerialPath overrides the profile's UART.
	SerialPath string
	// Baud overrides the profile's UART speed.
	Baud int
	// PPSDevice overrides the kernel PPS device; "none" disables it.
	PPSDevice string
	// PPSPin overrides the BCM GPIO carrying the pulse (2-27; 0 keeps the
	// profile's; GPIO0/1 are the HAT EEPROM's and never the pulse).
	PPSPin int
	// Polarity overrides the on-time edge: "rising" or "falling".
	Polarity string
	// CableDelay overrides the profile's cable delay (see Hat.CableDelay).
	CableDelay time.Duration
	// PPSMethod is one of MethodAuto, MethodKernel, MethodGPIOChip,
	// MethodPeriph, MethodNone.
	PPSMethod string
	// CaptureClear makes the kernel source capture the clear edge: for a
	// falling pulse on a pps-gpio overlay without assert_falling_edge.
	CaptureClear bool
}

// DefaultConfig is the Adafruit Ultimate GPS HAT with automatic PPS choice.
func DefaultConfig() Config {
	return Config{Hat: "adafruit-ultimate-gps", PPSMethod: MethodAuto}
}

// standardBauds are the UART rates GPS receivers offer.
var standardBauds = map[int]bool{4800: true, 9600: true, 19200: true, 38400: true, 57600: true, 115200: true, 230400: true, 460800: true, 921600: true}

// Validate reports the first misconfiguration, naming the field.
func (c Config) Validate() error {
	_, err := c.Resolve()
	return err
}

// Resolve returns the hat profile with c's overrides applied, or the
// first misconfiguration.
func (c Config) Resolve() (Hat, error) {
	h, err := Profile(c.Hat)
	if err != nil {
		return Hat{}, fmt.Errorf("board: hat: %w", err)
	}
	if c.SerialPath != "" {
		if !filepath.IsAbs(c.SerialPath) {
			return Hat{}, fmt.Errorf("board: serial_path %q is not an absolute path", c.SerialPath)
		}
		h.SerialPath = c.SerialPath
	}
	if c.Baud != 0 {
		if !standardBauds[c.Baud] {
			return Hat{}, fmt.Errorf("board: baud %d is not a standard GPS rate (4800 to 921600)", c.Baud)
		}
		h.Baud = c.Baud
	}
	switch c.PPSDevice {
	case "":
	case "none":
		h.PPSDevice = ""
	default:
		if !filepath.IsAbs(c.PPSDevice) {
			return Hat{}, fmt.Errorf("board: pps_device %q is not an absolute path (or \"none\")", c.PPSDevice)
		}
		h.PPSDevice = c.PPSDevice
	}
	if c.PPSPin != 0 {
		if c.PPSPin < 2 || c.PPSPin > 27 {
			return Hat{}, fmt.Errorf("board: pps_pin %d is not a header GPIO (2 to 27)", c.PPSPin)
		}
		h.PPSPin = c.PPSPin
	}
	if c.Polarity != "" {
		p, err := pps.ParsePolarity(c.Polarity)
		if err != nil {
			return Hat{}, fmt.Errorf("board: polarity: %w", err)
		}
		h.Polarity = p
	}
	if c.CableDelay != 0 {
		if c.CableDelay < 0 || c.CableDelay > maxCableDelay {
			return Hat{}, fmt.Errorf("board: cable_delay %v outside 0 to %v", c.CableDelay, maxCableDelay)
		}
		h.CableDelay = c.CableDelay
	}
	switch c.PPSMethod {
	case MethodAuto, MethodNone:
	case MethodKernel:
		if h.PPSDevice == "" {
			return Hat{}, fmt.Errorf("board: pps_method kernel but hat %s has no pps_device", h.Name)
		}
	case MethodGPIOChip, MethodPeriph:
		if h.PPSPin == NoPin {
			return Hat{}, fmt.Errorf("board: pps_method %s but hat %s has no pps_pin (%s)", c.PPSMethod, h.Name, h.Notes)
		}
	default:
		return Hat{}, fmt.Errorf("board: pps_method %q unknown (want auto, kernel, gpiochip, periph or none)", c.PPSMethod)
	}
	return h, nil
}
