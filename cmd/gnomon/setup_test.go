package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
)

const fixtures = "internal/setup/testdata"

// stockBoot copies a stock Raspberry Pi OS boot partition's config.txt and
// cmdline.txt into a temporary directory.
func stockBoot(t *testing.T) string {
	t.Helper()
	boot := t.TempDir()
	for _, f := range []string{"config.txt", "cmdline.txt"} {
		b, err := os.ReadFile(filepath.Join(fixtures, "boot", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(boot, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return boot
}

// runSetup runs "gnomon setup" against a fixture tree and returns the
// exit status, stdout and stderr.
func runSetup(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"setup"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestSetupEveryBoard: gnomon setup --apply on every fixture board writes a
// gnomon.toml that config check accepts, edits the boot files once, says
// what changed and that a reboot is needed, and changes nothing the second
// time.
func TestSetupEveryBoard(t *testing.T) {
	for _, tree := range []string{"zero-w", "zero-2-w", "3b", "3b-plus", "4b", "5"} {
		boot, root := stockBoot(t), t.TempDir()
		args := []string{"--hat", "UPUTRONICS", "--model-tree", filepath.Join(fixtures, tree), "--boot-dir", boot, "--root", root, "--apply"}
		code, out, errs := runSetup(t, args...)
		if code != 0 || !strings.Contains(out, "changed: config.txt: added dtoverlay=pps-gpio,gpiopin=18") || !strings.Contains(out, "sudo reboot") {
			t.Fatalf("%s: exit %d\n%s\n%s", tree, code, out, errs)
		}
		if strings.Contains(out, "hciuart") != (tree != "5") {
			t.Errorf("%s: hciuart advice wrong:\n%s", tree, out)
		}
		toml := filepath.Join(root, "etc/gnomon/gnomon.toml")
		if _, err := config.Load(toml); err != nil {
			t.Errorf("%s: written config: %v", tree, err)
		}
		var o, e bytes.Buffer
		if c := Main([]string{"config", "check", toml}, &o, &e); c != 0 || !strings.Contains(o.String(), "ok") {
			t.Errorf("%s: config check: %d %s %s", tree, c, o.String(), e.String())
		}
		cfg, _ := os.ReadFile(filepath.Join(boot, "config.txt"))
		for _, l := range strings.Split(string(cfg), "\n") {
			if !strings.HasPrefix(l, "#") && strings.Contains(l, "#") {
				t.Errorf("%s: config.txt line %q carries a comment", tree, l)
			}
		}
		code, out, _ = runSetup(t, args...)
		if code != 0 || !strings.Contains(out, "nothing changed") || !strings.Contains(out, "unchanged") {
			t.Errorf("%s: second run: %d\n%s", tree, code, out)
		}
	}
}

func TestSetupRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--hat", "garmin-18x", "--model-tree", fixtures + "/4b"}, 1, `unknown hat "garmin-18x" (known: adafruit-ultimate-gps`},
		{[]string{"--hat", "adafruit", "--model-tree", fixtures + "/rock64"}, 1, "not a Raspberry Pi"},
		{[]string{"--hat", "neo-m9", "--model-tree", fixtures + "/4b"}, 1, "--pps-pin"},
		{[]string{"--model-tree", fixtures + "/4b"}, 2, "give --hat NAME"},
	} {
		code, _, errs := runSetup(t, append(tc.args, "--root", t.TempDir(), "--boot-dir", t.TempDir())...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestConfigCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if Main([]string{"config", "default"}, &out, &errb) != 0 || out.String() != config.DefaultFile() {
		t.Errorf("config default: %q", errb.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[board]\nhat = \"adafruit\"\n[discipline]\nstep_threshold = 128\n"), 0o644)
	out.Reset()
	errb.Reset()
	if code := Main([]string{"config", "check", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), bad+":4: discipline.step_threshold: a number without a unit") {
		t.Errorf("config check: %d %q", code, errb.String())
	}
}

// readmeBlock is a README block that says it is what gnomon setup writes:
// <!-- gnomon setup --hat HAT on TREE: FILE --> and a fenced block.
var readmeBlock = regexp.MustCompile("(?s)<!-- gnomon setup --hat (\\S+) on (\\S+): (\\S+) -->\\s*```\\w*\\n(.*?)```")

// TestReadmeIsWhatSetupWrites: every README block marked as gnomon setup's
// output is, byte for byte, what gnomon setup --apply writes on a stock
// boot partition: the lines it appends to config.txt, the cmdline.txt it
// leaves, the gnomon.toml it writes.
func TestReadmeIsWhatSetupWrites(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 3 {
		t.Fatalf("README has %d marked setup blocks, want config.txt, cmdline.txt and gnomon.toml at least", len(blocks))
	}
	for _, b := range blocks {
		hat, tree, file, want := b[1], b[2], b[3], b[4]
		boot, root := stockBoot(t), t.TempDir()
		if code, out, errs := runSetup(t, "--hat", hat, "--model-tree", filepath.Join(fixtures, tree), "--boot-dir", boot, "--root", root, "--apply"); code != 0 {
			t.Fatalf("%s on %s: %d\n%s%s", hat, tree, code, out, errs)
		}
		var got string
		switch file {
		case "config.txt":
			stock, _ := os.ReadFile(filepath.Join(fixtures, "boot/config.txt"))
			edited, _ := os.ReadFile(filepath.Join(boot, "config.txt"))
			added, ok := strings.CutPrefix(string(edited), string(stock))
			if !ok {
				t.Fatalf("setup changed the stock lines of config.txt:\n%s", edited)
			}
			got = strings.TrimPrefix(added, "\n")
		case "cmdline.txt":
			b, _ := os.ReadFile(filepath.Join(boot, "cmdline.txt"))
			got = string(b)
		case "gnomon.toml":
			b, _ := os.ReadFile(filepath.Join(root, "etc/gnomon/gnomon.toml"))
			got = string(b)
		default:
			t.Fatalf("README block for unknown file %q", file)
		}
		if got != want {
			t.Errorf("README's %s for %s on %s:\n%s\nsetup writes:\n%s", file, hat, tree, want, got)
		}
	}
}

// TestGokrazyImagePlan: the image's gnomon.toml checks for every hat, reads
// PPS from the GPIO character device (gokrazy's kernel has no pps-gpio), and
// its config.txt lines claim no pin with an overlay.
func TestGokrazyImagePlan(t *testing.T) {
	for _, hat := range []string{"adafruit", "uputronics", "waveshare", "max-m8q", "neo-m9"} {
		args := []string{"--hat", hat, "--gokrazy-json"}
		if hat == "neo-m9" {
			args = append(args, "--pps-pin", "23")
		}
		code, out, errs := runSetup(t, args...)
		if code != 0 {
			t.Fatalf("%s: %d %s", hat, code, errs)
		}
		var img struct {
			ConfigTxt []string `json:"config_txt"`
			TOML      string   `json:"toml"`
		}
		if err := json.Unmarshal([]byte(out), &img); err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse("image.toml", []byte(img.TOML))
		if err != nil {
			t.Fatalf("%s: %v", hat, err)
		}
		h, _ := c.Hat()
		method := "gpiochip"
		if !h.HasPPS() {
			method = "none"
		}
		if c.Board.PPSMethod != method || h.SerialPath != "/dev/ttyAMA0" || c.Discipline.DriftFile != "/perm/gnomon-drift" {
			t.Errorf("%s: %+v %+v", hat, c.Board, h)
		}
		if strings.Contains(strings.Join(img.ConfigTxt, "\n"), "pps-gpio") || !slices.Contains(img.ConfigTxt, "enable_uart=1") {
			t.Errorf("%s: config.txt %q", hat, img.ConfigTxt)
		}
	}
	if code, _, errs := runSetup(t, "--hat", "ublox", "--gokrazy-json"); code != 1 || !strings.Contains(errs, "PPS_PIN") {
		t.Errorf("hand-wired without a pin: %d %q", code, errs)
	}
}
