package board

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

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

// maxEdgeDelay bounds |Config.EdgeDelay|.
const maxEdgeDelay = time.Millisecond

// Config selects a hat profile and overrides its wiring where the
// installation differs; zero values keep the profile's setting. Its fields
// mirror the config file's [board] section.
type Config struct {
	// Hat is the profile name (see Names and Profile). Empty means a custom
	// receiver: SerialPath, Baud and a PPS input (PPSDevice or PPSPin; or
	// PPSMethod none) must then be given.
	Hat string
	// SerialPath overrides the receiver's UART, e.g. /dev/ttyAMA0.
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
	// EdgeDelay overrides the profile's edge delay (see Hat.EdgeDelay).
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

// standardBauds are the UART rates GPS receivers offer.
var standardBauds = map[int]bool{
	1200: true, 2400: true, 4800: true, 9600: true, 19200: true, 38400: true,
	57600: true, 115200: true, 230400: true, 460800: true, 921600: true,
}

// Validate reports the first misconfiguration, naming the field.
func (c Config) Validate() error {
	_, err := c.Resolve()
	return err
}

// Resolve returns the hat profile with c's overrides applied, or the
// first misconfiguration.
func (c Config) Resolve() (Hat, error) {
	var h Hat
	if c.Hat == "" {
		h = Hat{Name: "custom", Title: "custom receiver", PPSPin: NoPin, Polarity: pps.Rising}
		if c.SerialPath == "" || c.Baud == 0 {
			return Hat{}, fmt.Errorf("board: serial_path and baud are required without a hat profile")
		}
		if c.PPSDevice == "" && c.PPSPin == nil && c.PPSMethod != MethodNone {
			return Hat{}, fmt.Errorf("board: a PPS input (pps_device or pps_pin) is required without a hat profile, or pps_method none")
		}
	} else {
		p, err := Profile(c.Hat)
		if err != nil {
			return Hat{}, err
		}
		h = p
	}
	if c.SerialPath != "" {
		if !filepath.IsAbs(c.SerialPath) {
			return Hat{}, fmt.Errorf("board: serial_path %q is not an absolute path", c.SerialPath)
		}
		h.SerialPath = c.SerialPath
	}
	if c.Baud != 0 {
		if !standardBauds[c.Baud] {
			return Hat{}, fmt.Errorf("board: baud %d is not a standard GPS rate (1200 to 921600)", c.Baud)
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
	if c.GPIOChip != "" {
		if strings.ContainsAny(c.GPIOChip, " \t") || (!filepath.IsAbs(c.GPIOChip) && !strings.HasPrefix(c.GPIOChip, "gpiochip")) {
			return Hat{}, fmt.Errorf("board: gpio_chip %q is neither gpiochipN nor an absolute path", c.GPIOChip)
		}
		h.GPIOChip = c.GPIOChip
	}
	if c.PPSPin != nil {
		pin := *c.PPSPin
		if h.GPIOChip == "" && (pin < 0 || pin > 27) {
			return Hat{}, fmt.Errorf("board: pps_pin %d is not a header GPIO (0 to 27; set gpio_chip for other chips)", pin)
		}
		if pin < 0 || pin > 1023 {
			return Hat{}, fmt.Errorf("board: pps_pin %d is not a GPIO line (0 to 1023)", pin)
		}
		h.PPSPin = pin
	}
	if c.Polarity != "" {
		p, err := pps.ParsePolarity(c.Polarity)
		if err != nil {
			return Hat{}, fmt.Errorf("board: polarity: %w", err)
		}
		h.Polarity = p
	}
	if c.EdgeDelay != 0 {
		if c.EdgeDelay < -maxEdgeDelay || c.EdgeDelay > maxEdgeDelay {
			return Hat{}, fmt.Errorf("board: edge_delay %v outside -%v to %v", c.EdgeDelay, maxEdgeDelay, maxEdgeDelay)
		}
		h.EdgeDelay = c.EdgeDelay
	}
	switch c.PPSMethod {
	case "", MethodAuto, MethodNone:
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
