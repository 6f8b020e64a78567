package setup

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func pin(n int) *int { return &n }

// TestConfigTxtIdempotent: lines are appended once under [all], fighting
// lines are commented out, a second run changes nothing, and no active
// line carries a comment.
func TestConfigTxtIdempotent(t *testing.T) {
	p, err := NewPlan("testdata/4b", "adafruit", nil)
	if err != nil {
		t.Fatal(err)
	}
	old := "dtparam=audio=on\nenable_uart=0\ndtoverlay=pps-gpio,gpiopin=18\n[pi4]\ndtoverlay=disable-bt\n"
	text, ch := p.ConfigTxtChanges(old)
	want := "dtparam=audio=on\n#enable_uart=0\n#dtoverlay=pps-gpio,gpiopin=18\n[pi4]\ndtoverlay=disable-bt\n\n" +
		"# gnomon setup: Adafruit Ultimate GPS HAT on a Pi 3/4/Zero W/Zero 2 W\n[all]\nenable_uart=1\ndtoverlay=pps-gpio,gpiopin=4\ndtoverlay=disable-bt\n"
	if text != want {
		t.Errorf("edited:\n%s\nwant:\n%s", text, want)
	}
	if len(ch) != 5 {
		t.Errorf("changes %q, want 2 commented out and 3 added", ch)
	}
	if again, ch := p.ConfigTxtChanges(text); again != text || len(ch) != 0 {
		t.Errorf("second run changed %q", ch)
	}
}

func TestCmdline(t *testing.T) {
	p4, _ := NewPlan("testdata/4b", "uputronics", nil)
	got, ch := p4.CmdlineChanges("console=serial0,115200 console=tty1 root=/dev/mmcblk0p2 rootwait\n")
	if got != "console=tty1 root=/dev/mmcblk0p2 rootwait\n" || len(ch) != 1 {
		t.Errorf("Pi 4: %q %q", got, ch)
	}
	p5, _ := NewPlan("testdata/5", "uputronics", nil)
	// On a Pi 5 serial0 is the debug UART: its console stays.
	got, _ = p5.CmdlineChanges("console=serial0,115200 console=ttyAMA0,115200 rootwait\n")
	if got != "console=serial0,115200 rootwait pcie_aspm.policy=performance\n" {
		t.Errorf("Pi 5: %q", got)
	}
	if again, ch := p5.CmdlineChanges(got); again != got || len(ch) != 0 {
		t.Errorf("Pi 5 second run: %q", ch)
	}
}

// TestEveryBoardAndHat: every fixture board with every hat plans, with
// Bluetooth handled where it holds the UART and a warning for every hat
// without a confirmed PPS pin.
func TestEveryBoardAndHat(t *testing.T) {
	bt := map[string]bool{"zero-w": true, "zero-2-w": true, "3b": true, "3b-plus": true, "4b": true, "5": false}
	hats := []string{"adafruit", "uputronics", "waveshare", "max-m8q", "neo-m8"}
	for tree, hasBT := range bt {
		for _, hat := range hats {
			var pp *int
			if hat == "neo-m8" {
				pp = pin(23)
			}
			p, err := NewPlan(filepath.Join("testdata", tree), hat, pp)
			if err != nil {
				t.Fatalf("%s %s: %v", tree, hat, err)
			}
			if got := slices.Contains(p.ConfigTxt, "dtoverlay=disable-bt"); got != hasBT || (len(p.Services) > 0) != hasBT {
				t.Errorf("%s %s: disable-bt %v, services %v; Bluetooth UART %v", tree, hat, got, p.Services, hasBT)
			}
			if tree == "5" && (!slices.Contains(p.ConfigTxt, "dtparam=uart0=on") || !strings.Contains(p.TOML, `serial_path = "/dev/ttyAMA0"`) || !strings.Contains(p.TOML, `edge_delay = "6200ns"`)) {
				t.Errorf("Pi 5 %s: %q\n%s", hat, p.ConfigTxt, p.TOML)
			}
			if !p.Hat.HasPPS() && len(p.Warnings) == 0 {
				t.Errorf("%s %s: NMEA only and no warning", tree, hat)
			}
			if hat == "neo-m8" && !slices.Contains(p.ConfigTxt, "dtoverlay=pps-gpio,gpiopin=23") {
				t.Errorf("neo-m8 pin 23: %q", p.ConfigTxt)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		tree, hat string
		pin       *int
		want      string
	}{
		{"testdata/4b", "garmin", nil, `unknown hat "garmin"`},
		{"testdata/rock64", "adafruit", nil, "not a Raspberry Pi"},
		{"testdata/nothing", "adafruit", nil, "not a Raspberry Pi"},
		{"testdata/4b", "ublox", nil, "--pps-pin"},
		{"testdata/4b", "ublox", pin(1), "not a header GPIO"},
	} {
		if _, err := NewPlan(tc.tree, tc.hat, tc.pin); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.tree, tc.hat, err, tc.want)
		}
	}
}

// TestApply: the boot files of a stock image are edited once, with the
// originals kept, and services only listed without a disable function.
func TestApply(t *testing.T) {
	boot := t.TempDir()
	for _, f := range []string{"config.txt", "cmdline.txt"} {
		b, _ := os.ReadFile(filepath.Join("testdata/boot", f))
		os.WriteFile(filepath.Join(boot, f), b, 0o644)
	}
	p, _ := NewPlan("testdata/zero-w", "uputronics", nil)
	ch, err := p.Apply(boot, nil)
	if err != nil || len(ch) != 4 {
		t.Fatalf("changes %q, %v", ch, err)
	}
	orig, _ := os.ReadFile("testdata/boot/config.txt")
	if bak, _ := os.ReadFile(filepath.Join(boot, "config.txt"+BackupSuffix)); string(bak) != string(orig) {
		t.Error("config.txt backup is not the original")
	}
	var disabled []string
	ch, err = p.Apply(boot, func(s string) error { disabled = append(disabled, s); return nil })
	if err != nil || len(ch) != 1 || !slices.Equal(disabled, []string{"hciuart"}) {
		t.Errorf("second run: %q %v %v", ch, disabled, err)
	}
	if _, err := p.Apply(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no config.txt") {
		t.Errorf("empty boot dir: %v", err)
	}
}

// FuzzConfigTxtChanges: any config.txt edits without panic, a second run
// changes nothing, and every line the edit adds is whole (no comment).
func FuzzConfigTxtChanges(f *testing.F) {
	b, _ := os.ReadFile("testdata/boot/config.txt")
	f.Add(string(b))
	f.Add("enable_uart=0\n[pi4]\ndtoverlay=pps-gpio,gpiopin=4\n")
	f.Add("")
	p, err := NewPlan("testdata/4b", "uputronics", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, old string) {
		text, _ := p.ConfigTxtChanges(old)
		if again, ch := p.ConfigTxtChanges(text); again != text || len(ch) != 0 {
			t.Errorf("not idempotent: %q -> %q -> %q (%q)", old, text, again, ch)
		}
	})
}
