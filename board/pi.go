package board

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotPi is returned by DetectModel on a machine that is not a
// Raspberry Pi.
var ErrNotPi = errors.New("board: not a Raspberry Pi")

// GPIO chip labels of the 40-pin header's controller.
const (
	LabelRP1     = "pinctrl-rp1"     // Pi 5, 500, CM5 (through the RP1 south bridge)
	LabelBCM2711 = "pinctrl-bcm2711" // Pi 4, 400, CM4
	LabelBCM2835 = "pinctrl-bcm2835" // Pi 1, 2, 3, Zero, Zero 2, CM1, CM3
)

// Model is a Raspberry Pi model as the device tree names it.
type Model struct {
	// Name is /proc/device-tree/model, e.g. "Raspberry Pi 4 Model B Rev 1.4".
	Name string
	// SoC is the Broadcom chip, e.g. "BCM2711".
	SoC string
	// GPIOChipLabel labels the gpiochip driving the header pins.
	GPIOChipLabel string
	// Board is what setting the model up for a GPS hat needs.
	Board Board
}

// Board is what gnomon setup needs to know of a Pi model family to give
// a hat on the 40-pin header its UART and PPS pin.
type Board struct {
	// Family names the models, e.g. "Pi 4".
	Family string
	// HeaderUART is the device of the UART on GPIO14/15 (header pins 8
	// and 10) once ConfigTxt is applied.
	HeaderUART string
	// BluetoothUART is true where the Bluetooth chip holds the PL011 UART
	// and /dev/serial0 is the mini UART until dtoverlay=disable-bt
	// (then hciuart.service must be disabled too).
	BluetoothUART bool
	// ConfigTxt are the board's config.txt lines (the hat adds its own).
	ConfigTxt []string
	// CmdlineAdd are kernel parameters for cmdline.txt.
	CmdlineAdd []string
	// ConsoleUARTs are the console= devices to remove from cmdline.txt:
	// a serial login console on the hat's UART garbles the receiver's
	// line and answers its sentences.
	ConsoleUARTs []string
	// PPSBias is the board's calibration offset: how late its kernel PPS
	// stamps are after the true edge (written as board.edge_delay, added
	// to the hat's).
	PPSBias time.Duration
	// Unconfirmed lists facts of this row not confirmed on hardware;
	// gnomon setup prints each as a warning.
	Unconfirmed []string
}

// Console devices a serial console on GPIO14/15 goes by on Pis before the 5.
var headerConsoles = []string{"serial0", "ttyAMA0", "ttyS0"}

// Board rows. Sources: the project's hardware facts (HARDWARE.md, "GPS
// hats" and "Raspberry Pi 5") and the Raspberry Pi documentation's UART
// page (raspberrypi/documentation, computers/configuration/uart.adoc:
// which UART /dev/serial0 is per model, disable-bt, the Pi 5's uart0 and
// ttyAMA10).
var (
	// Pi 1, 2, Zero, CM1/CM3: no Bluetooth, the PL011 is the primary UART
	// (Raspberry Pi documentation, "Primary UART" table).
	boardPlain = Board{Family: "Pi 1/2/Zero/CM", HeaderUART: "/dev/serial0", ConsoleUARTs: headerConsoles}
	// Pi 3, 4, Zero W, Zero 2 W: Bluetooth on the PL011; disable-bt gives
	// it back and hciuart must stop (Raspberry Pi documentation, "Disable
	// Bluetooth"; HARDWARE.md).
	boardBT = Board{Family: "Pi 3/4/Zero W/Zero 2 W", HeaderUART: "/dev/serial0", BluetoothUART: true,
		ConfigTxt: []string{"dtoverlay=disable-bt"}, ConsoleUARTs: headerConsoles}
	// Compute Module 4: wireless is optional on it; gnomon does not know
	// which variant it runs on, so it leaves Bluetooth alone.
	boardCM4 = Board{Family: "CM4", HeaderUART: "/dev/serial0", ConsoleUARTs: headerConsoles,
		Unconfirmed: []string{"Compute Module 4: a wireless variant shares the PL011 with Bluetooth; add dtoverlay=disable-bt by hand if yours has wireless"}}
	// Pi 5, 500, CM5: the header UART is the RP1's UART0, /dev/ttyAMA0,
	// enabled with dtparam=uart0=on; /dev/serial0 is the debug
	// connector's UART10 (ttyAMA10), so its console is left alone;
	// disable-bt does nothing useful. Kernel PPS stamps run about 11.7 µs
	// late, about 6.2 µs with PCIe ASPM off (pcie_aspm.policy=performance)
	// (HARDWARE.md, "Raspberry Pi 5"; one measurement, not ours).
	boardPi5 = Board{Family: "Pi 5", HeaderUART: "/dev/ttyAMA0", ConfigTxt: []string{"dtparam=uart0=on"},
		CmdlineAdd: []string{"pcie_aspm.policy=performance"}, ConsoleUARTs: []string{"ttyAMA0"},
		PPSBias:     6200 * time.Nanosecond,
		Unconfirmed: []string{"Pi 5: the 6.2 µs PPS calibration offset (edge_delay) is one published measurement with pcie_aspm.policy=performance, not measured on this board; compare against a known-good server and adjust board.edge_delay"}}
)

// piFamilies maps the text after "Raspberry Pi " to the SoC and board;
// the longest matching prefix wins ("Zero 2" over "Zero").
var piFamilies = []struct {
	prefix, soc, label string
	board              *Board
}{
	{"5", "BCM2712", LabelRP1, &boardPi5},
	{"500", "BCM2712", LabelRP1, &boardPi5},
	{"Compute Module 5", "BCM2712", LabelRP1, &boardPi5},
	{"4", "BCM2711", LabelBCM2711, &boardBT},
	{"400", "BCM2711", LabelBCM2711, &boardBT},
	{"Compute Module 4", "BCM2711", LabelBCM2711, &boardCM4},
	{"3", "BCM2837", LabelBCM2835, &boardBT}, // 3B, 3B+, 3A+ all have Bluetooth
	{"Compute Module 3", "BCM2837", LabelBCM2835, &boardPlain},
	{"Zero 2", "BCM2837", LabelBCM2835, &boardBT}, // "Zero 2 W"
	{"2", "BCM2836", LabelBCM2835, &boardPlain},   // rev 1.2 boards carry a BCM2837; same GPIO block
	{"Zero W", "BCM2835", LabelBCM2835, &boardBT},
	{"Zero", "BCM2835", LabelBCM2835, &boardPlain},
	{"Compute Module", "BCM2835", LabelBCM2835, &boardPlain},
	{"Model", "BCM2835", LabelBCM2835, &boardPlain}, // "Raspberry Pi Model B Plus Rev 1.2"
}

// DetectModel reads root/proc/device-tree/model (root "" or "/" for the
// running system; tests pass a fake tree).
func DetectModel(root string) (Model, error) {
	path := filepath.Join(rootDir(root), "proc/device-tree/model")
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Model{}, fmt.Errorf("%w: no %s: %w", ErrNotPi, path, err)
		}
		return Model{}, fmt.Errorf("board: read model: %w", err)
	}
	return ParseModel(string(bytes.TrimRight(b, "\x00\n")))
}

// ParseModel identifies a device-tree model string.
func ParseModel(name string) (Model, error) {
	rest, ok := strings.CutPrefix(name, "Raspberry Pi ")
	if !ok {
		return Model{}, fmt.Errorf("%w: model %q", ErrNotPi, name)
	}
	best := -1
	for i, f := range piFamilies {
		// A family matches a whole word: "5" must not match "500".
		if rest == f.prefix || strings.HasPrefix(rest, f.prefix+" ") {
			if best < 0 || len(f.prefix) > len(piFamilies[best].prefix) {
				best = i
			}
		}
	}
	if best < 0 {
		return Model{}, fmt.Errorf("board: Raspberry Pi model %q unknown to gnomon", name)
	}
	f := piFamilies[best]
	b := *f.board
	b.ConfigTxt, b.CmdlineAdd = slices.Clone(b.ConfigTxt), slices.Clone(b.CmdlineAdd)
	b.ConsoleUARTs, b.Unconfirmed = slices.Clone(b.ConsoleUARTs), slices.Clone(b.Unconfirmed)
	return Model{Name: name, SoC: f.soc, GPIOChipLabel: f.label, Board: b}, nil
}

// Chip is a GPIO controller found by FindGPIOChip.
type Chip struct {
	// Name is the kernel's name, e.g. "gpiochip0".
	Name string
	// Path is its character device, e.g. "/dev/gpiochip0" (under root).
	Path string
	// Label is the driver's label, e.g. "pinctrl-bcm2711".
	Label string
	// Lines is the number of lines, 0 if unknown.
	Lines int
}

// FindGPIOChip finds the GPIO controller labelled label: first through
// sysfs (root/sys/bus/gpio/devices/gpiochipN/label, or the legacy
// root/sys/class/gpio/gpiochipBASE/label whose device link names
// gpiochipN), then by asking each root/dev/gpiochip* with
// GPIO_GET_CHIPINFO_IOCTL. The number differs across kernels (the Pi 5's
// header was gpiochip4, later gpiochip0), the label does not.
func FindGPIOChip(root, label string) (Chip, error) {
	root = rootDir(root)
	var tried []string
	if c, ok := findChipSysfs(root, label); ok {
		return c, nil
	}
	tried = append(tried, "sysfs labels")
	devs, _ := filepath.Glob(filepath.Join(root, "dev/gpiochip*"))
	slices.SortFunc(devs, compareChipPaths)
	var errs []error
	for _, dev := range devs {
		info, err := chipInfo(dev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if info.Label == label {
			return info, nil
		}
	}
	tried = append(tried, fmt.Sprintf("%d character devices", len(devs)))
	err := fmt.Errorf("board: no gpio chip labelled %q (tried %s)", label, strings.Join(tried, ", "))
	if len(errs) > 0 {
		err = fmt.Errorf("%w: %w", err, errors.Join(errs...))
	}
	return Chip{}, err
}

// findChipSysfs looks for label in sysfs without opening any device.
func findChipSysfs(root, label string) (Chip, bool) {
	// Newer kernels: the gpio bus device itself.
	busDirs, _ := filepath.Glob(filepath.Join(root, "sys/bus/gpio/devices/gpiochip*"))
	slices.SortFunc(busDirs, compareChipPaths)
	for _, d := range busDirs {
		if readTrim(filepath.Join(d, "label")) == label {
			name := filepath.Base(d)
			return Chip{Name: name, Path: filepath.Join(root, "dev", name), Label: label, Lines: readInt(filepath.Join(d, "ngpio"))}, true
		}
	}
	// Legacy sysfs: /sys/class/gpio/gpiochip<base>, whose "device" link
	// points at the gpiochipN device the chardev is named after.
	classDirs, _ := filepath.Glob(filepath.Join(root, "sys/class/gpio/gpiochip*"))
	slices.SortFunc(classDirs, compareChipPaths)
	for _, d := range classDirs {
		if readTrim(filepath.Join(d, "label")) != label {
			continue
		}
		target, err := filepath.EvalSymlinks(filepath.Join(d, "device"))
		if err != nil {
			continue
		}
		name := filepath.Base(target)
		if !strings.HasPrefix(name, "gpiochip") {
			continue
		}
		return Chip{Name: name, Path: filepath.Join(root, "dev", name), Label: label, Lines: readInt(filepath.Join(d, "ngpio"))}, true
	}
	return Chip{}, false
}

// compareChipPaths orders gpiochip2 before gpiochip10.
func compareChipPaths(a, b string) int {
	na, ea := strconv.Atoi(strings.TrimPrefix(filepath.Base(a), "gpiochip"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(filepath.Base(b), "gpiochip"))
	if ea == nil && eb == nil && na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readInt(path string) int {
	n, err := strconv.Atoi(readTrim(path))
	if err != nil {
		return 0
	}
	return n
}

func rootDir(root string) string {
	if root == "" {
		return "/"
	}
	return root
}
