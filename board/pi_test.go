package board

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates files (path -> content) under a temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestParseModel(t *testing.T) {
	tests := []struct{ name, soc, label string }{
		{"Raspberry Pi 5 Model B Rev 1.0", "BCM2712", LabelRP1},
		{"Raspberry Pi 500 Rev 1.0", "BCM2712", LabelRP1},
		{"Raspberry Pi Compute Module 5 Rev 1.0", "BCM2712", LabelRP1},
		{"Raspberry Pi 4 Model B Rev 1.4", "BCM2711", LabelBCM2711},
		{"Raspberry Pi 400 Rev 1.0", "BCM2711", LabelBCM2711},
		{"Raspberry Pi Compute Module 4 Rev 1.0", "BCM2711", LabelBCM2711},
		{"Raspberry Pi 3 Model B Plus Rev 1.3", "BCM2837", LabelBCM2835},
		{"Raspberry Pi Compute Module 3 Plus Rev 1.0", "BCM2837", LabelBCM2835},
		{"Raspberry Pi Zero 2 W Rev 1.0", "BCM2837", LabelBCM2835},
		{"Raspberry Pi 2 Model B Rev 1.1", "BCM2836", LabelBCM2835},
		{"Raspberry Pi Zero W Rev 1.1", "BCM2835", LabelBCM2835},
		{"Raspberry Pi Compute Module Rev 1.0", "BCM2835", LabelBCM2835},
		{"Raspberry Pi Model B Plus Rev 1.2", "BCM2835", LabelBCM2835},
	}
	for _, tc := range tests {
		m, err := ParseModel(tc.name)
		if err != nil || m.SoC != tc.soc || m.GPIOChipLabel != tc.label || m.Name != tc.name {
			t.Errorf("ParseModel(%q) = %+v, %v; want %s %s", tc.name, m, err, tc.soc, tc.label)
		}
	}
	if _, err := ParseModel("Pine64 RockPro64 v2.1"); !errors.Is(err, ErrNotPi) {
		t.Errorf("non-Pi: %v, want ErrNotPi", err)
	}
	if _, err := ParseModel("Raspberry Pi 9 Model Q"); err == nil || errors.Is(err, ErrNotPi) {
		t.Errorf("unknown Pi: %v, want an unknown-model error", err)
	}
}

// TestBoards: the boards the issue lists get their UART facts: Bluetooth
// holds the PL011 on the Zero W, Zero 2 W, 3 and 4; the Pi 5's header UART
// is ttyAMA0 behind dtparam=uart0=on, with the PCIe advice and a
// calibration offset; every row is whole.
func TestBoards(t *testing.T) {
	tests := []struct {
		model, uart, config, cmdline string
		bt                           bool
	}{
		{"Raspberry Pi Zero W Rev 1.1", "/dev/serial0", "dtoverlay=disable-bt", "", true},
		{"Raspberry Pi Zero Rev 1.3", "/dev/serial0", "", "", false},
		{"Raspberry Pi Zero 2 W Rev 1.0", "/dev/serial0", "dtoverlay=disable-bt", "", true},
		{"Raspberry Pi 3 Model B Rev 1.2", "/dev/serial0", "dtoverlay=disable-bt", "", true},
		{"Raspberry Pi 3 Model B Plus Rev 1.3", "/dev/serial0", "dtoverlay=disable-bt", "", true},
		{"Raspberry Pi 4 Model B Rev 1.4", "/dev/serial0", "dtoverlay=disable-bt", "", true},
		{"Raspberry Pi 2 Model B Rev 1.1", "/dev/serial0", "", "", false},
		{"Raspberry Pi 5 Model B Rev 1.0", "/dev/ttyAMA0", "dtparam=uart0=on", "pcie_aspm.policy=performance", false},
	}
	for _, tc := range tests {
		m, err := ParseModel(tc.model)
		if err != nil {
			t.Fatal(err)
		}
		b := m.Board
		if b.HeaderUART != tc.uart || strings.Join(b.ConfigTxt, "\n") != tc.config ||
			strings.Join(b.CmdlineAdd, " ") != tc.cmdline || b.BluetoothUART != tc.bt {
			t.Errorf("%s: %+v", tc.model, b)
		}
		if len(b.ConsoleUARTs) == 0 || b.Family == "" {
			t.Errorf("%s: no console devices or family: %+v", tc.model, b)
		}
		for _, l := range b.ConfigTxt {
			if strings.ContainsAny(l, "# ") {
				t.Errorf("%s: config.txt line %q has a comment or a space", tc.model, l)
			}
		}
	}
	p5, _ := ParseModel("Raspberry Pi 5 Model B Rev 1.0")
	if p5.Board.PPSBias <= 0 || len(p5.Board.Unconfirmed) == 0 || slices.Contains(p5.Board.ConsoleUARTs, "serial0") {
		t.Errorf("Pi 5: calibration offset, its caveat, and the debug console kept: %+v", p5.Board)
	}
	// ParseModel hands out copies.
	p5.Board.ConfigTxt[0] = "changed"
	if again, _ := ParseModel("Raspberry Pi 5 Model B Rev 1.0"); again.Board.ConfigTxt[0] != "dtparam=uart0=on" {
		t.Error("ParseModel shares the board row")
	}
}

func TestDetectModel(t *testing.T) {
	// The device tree string ends in NUL.
	root := writeTree(t, map[string]string{"proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.5\x00"})
	m, err := DetectModel(root)
	if err != nil || m.Name != "Raspberry Pi 4 Model B Rev 1.5" || m.GPIOChipLabel != LabelBCM2711 {
		t.Errorf("DetectModel = %+v, %v", m, err)
	}
	if _, err := DetectModel(t.TempDir()); !errors.Is(err, ErrNotPi) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no model file: %v, want ErrNotPi wrapping ErrNotExist", err)
	}
}

func TestFindGPIOChipSysfs(t *testing.T) {
	// A Pi 5 on a kernel where the header chip is gpiochip4, beside the
	// other RP1/BCM2712 controllers; labels in the bus devices' directory.
	root := writeTree(t, map[string]string{
		"sys/bus/gpio/devices/gpiochip0/label":  "gpio-brcmstb@107d508500\n",
		"sys/bus/gpio/devices/gpiochip1/label":  "gpio-brcmstb@107d508520\n",
		"sys/bus/gpio/devices/gpiochip10/label": "rpi-firmware-gpio\n",
		"sys/bus/gpio/devices/gpiochip4/label":  "pinctrl-rp1\n",
		"sys/bus/gpio/devices/gpiochip4/ngpio":  "54\n",
	})
	c, err := FindGPIOChip(root, LabelRP1)
	if err != nil {
		t.Fatal(err)
	}
	want := Chip{Name: "gpiochip4", Path: filepath.Join(root, "dev/gpiochip4"), Label: LabelRP1, Lines: 54}
	if c != want {
		t.Errorf("FindGPIOChip = %+v, want %+v", c, want)
	}
}

func TestFindGPIOChipLegacyClass(t *testing.T) {
	// Legacy sysfs: /sys/class/gpio/gpiochip512 -> device gpiochip0.
	root := writeTree(t, map[string]string{
		"sys/devices/platform/soc/fe200000.gpio/gpiochip0/uevent": "",
		"sys/class/gpio/gpiochip512/label":                        "pinctrl-bcm2711\n",
		"sys/class/gpio/gpiochip512/ngpio":                        "58\n",
		"sys/class/gpio/gpiochip570/label":                        "raspberrypi-exp-gpio\n",
	})
	if err := os.Symlink(filepath.Join(root, "sys/devices/platform/soc/fe200000.gpio/gpiochip0"),
		filepath.Join(root, "sys/class/gpio/gpiochip512/device")); err != nil {
		t.Fatal(err)
	}
	c, err := FindGPIOChip(root, LabelBCM2711)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "gpiochip0" || c.Path != filepath.Join(root, "dev/gpiochip0") || c.Lines != 58 {
		t.Errorf("FindGPIOChip = %+v", c)
	}
}

func TestFindGPIOChipNotFound(t *testing.T) {
	// No sysfs labels, and "character devices" that are plain files: the
	// chip-info ioctl fails on them and the error says so.
	root := writeTree(t, map[string]string{
		"sys/bus/gpio/devices/gpiochip0/label": "pinctrl-bcm2835\n",
		"dev/gpiochip0":                        "",
	})
	_, err := FindGPIOChip(root, LabelRP1)
	if err == nil || !strings.Contains(err.Error(), `"pinctrl-rp1"`) || !strings.Contains(err.Error(), "GPIO_GET_CHIPINFO_IOCTL") {
		t.Errorf("FindGPIOChip = %v, want not-found naming the label and the failed ioctl", err)
	}
}

func TestCompareChipPaths(t *testing.T) {
	if compareChipPaths("/x/gpiochip2", "/x/gpiochip10") >= 0 || compareChipPaths("/x/gpiochip10", "/x/gpiochip2") <= 0 {
		t.Error("gpiochip2 should sort before gpiochip10")
	}
}
