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
}

// piFamilies maps the text after "Raspberry Pi " to the SoC; longer
// prefixes first ("Compute Module 4" before "Compute Module").
var piFamilies = []struct {
	prefix, soc, label string
}{
	{"5", "BCM2712", LabelRP1},
	{"500", "BCM2712", LabelRP1},
	{"Compute Module 5", "BCM2712", LabelRP1},
	{"4", "BCM2711", LabelBCM2711},
	{"400", "BCM2711", LabelBCM2711},
	{"Compute Module 4", "BCM2711", LabelBCM2711},
	{"3", "BCM2837", LabelBCM2835},
	{"Compute Module 3", "BCM2837", LabelBCM2835},
	{"Zero 2", "BCM2837", LabelBCM2835},
	{"2", "BCM2836", LabelBCM2835}, // rev 1.2 boards carry a BCM2837; same GPIO block
	{"Zero", "BCM2835", LabelBCM2835},
	{"Compute Module", "BCM2835", LabelBCM2835},
	{"Model", "BCM2835", LabelBCM2835}, // "Raspberry Pi Model B Plus Rev 1.2"
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
	return Model{Name: name, SoC: f.soc, GPIOChipLabel: f.label}, nil
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
