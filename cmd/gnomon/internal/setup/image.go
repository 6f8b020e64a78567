package setup

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gnomon-ntp/gnomon/board"
)

// Image is what the gokrazy SD card image (make image) needs for a hat on
// any arm64 Pi (3, 4, 5, Zero 2 W), whose board is unknown when it is built.
type Image struct {
	// ConfigTxt are the lines for the image's config.txt.
	ConfigTxt []string `json:"config_txt"`
	// TOML is the image's /etc/gnomon/gnomon.toml.
	TOML string `json:"toml"`
}

// ImageUART is the header UART on every arm64 Pi once ImagePlan's lines
// are applied: the PL011 on a Pi 3, 4 and Zero 2 W (Bluetooth moved off by
// disable-bt), UART0 on a Pi 5 (dtparam=uart0=on). gokrazy has no udev, so
// there is no /dev/serial0 link.
const ImageUART = "/dev/ttyAMA0"

// ImageDriftFile is the drift file on gokrazy's persistent partition.
const ImageDriftFile = "/perm/gnomon-drift"

// ImagePlan plans the image for hat. gokrazy's kernel has no pps-gpio
// module but has the GPIO character device: PPS is read from there with
// kernel stamps, and no pps-gpio overlay claims the pin.
func ImagePlan(hat string, ppsPin *int) (*Image, error) {
	h, err := board.Profile(hat)
	if err != nil {
		return nil, fmt.Errorf("setup: unknown hat %q (known: %s)", hat, strings.Join(board.Names(), ", "))
	}
	if h.PinFromUser && ppsPin == nil {
		return nil, fmt.Errorf("setup: hat %s is wired by hand: give its PPS GPIO (PPS_PIN=N)", h.Name)
	}
	lines := slices.DeleteFunc(slices.Clone(h.ConfigTxt), func(l string) bool { return strings.HasPrefix(l, "dtoverlay=pps-gpio") })
	lines = append(lines, "dtoverlay=disable-bt", "dtparam=uart0=on")
	var b strings.Builder
	fmt.Fprintf(&b, "# gnomon configuration of the gokrazy image for a %s (make image HAT=%s).\n\n", h.Title, hat)
	fmt.Fprintf(&b, "[board]\nhat = %q\nserial_path = %q\npps_device = \"none\"\n", h.Name, ImageUART)
	switch {
	case ppsPin != nil:
		fmt.Fprintf(&b, "pps_pin = %d\npps_method = \"gpiochip\"\n", *ppsPin)
	case h.HasPPS():
		b.WriteString("pps_method = \"gpiochip\"\n")
	default:
		b.WriteString("pps_method = \"none\"\n")
	}
	b.WriteString("# Calibration offset: about 6200ns on a Pi 5 (see the README); 0 elsewhere until measured.\nedge_delay = \"0ns\"\n\n")
	fmt.Fprintf(&b, "[discipline]\ndrift_file = %q\nleap_seconds_file = \"\"\n\n", ImageDriftFile)
	b.WriteString("[server]\nlisten = [\"0.0.0.0:123\", \"[::]:123\"]\n\n[system]\nuser = \"\"\nlog_level = \"info\"\n")
	return &Image{ConfigTxt: lines, TOML: b.String()}, nil
}
