// Package setup prepares a Raspberry Pi for a GPS hat: from the detected
// board and the chosen hat it makes a Plan (the config.txt lines, the
// cmdline.txt changes, the services to disable, gnomon's configuration
// file, and warnings for every unconfirmed fact), prints it, and applies
// it idempotently with backups. It never runs anything itself: services
// are disabled through a function the caller passes.
package setup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
)

// Plan is what one board and hat need.
type Plan struct {
	// Model is the detected Pi.
	Model board.Model
	// Hat is the chosen profile, with the user's pin applied.
	Hat board.Hat
	// ConfigTxt are the lines config.txt needs, in order.
	ConfigTxt []string
	// Consoles are the console= devices to remove from cmdline.txt.
	Consoles []string
	// CmdlineAdd are the kernel parameters to add to cmdline.txt.
	CmdlineAdd []string
	// Services are the systemd services to disable (hciuart where
	// Bluetooth shares the UART).
	Services []string
	// Warnings are the unconfirmed facts the plan rests on.
	Warnings []string
	// TOML is /etc/gnomon/gnomon.toml's content.
	TOML string
}

// ConfigPath is where gnomon's configuration file lives, under a root.
const ConfigPath = "etc/gnomon/gnomon.toml"

// BackupSuffix is added to a file's name for the copy kept before the
// first change.
const BackupSuffix = ".gnomon-backup"

// NewPlan detects the Pi under modelTree (root of /proc/device-tree) and
// plans for hat; ppsPin, if not nil, is the GPIO the pulse is wired to
// (required for a hand-wired receiver).
func NewPlan(modelTree, hat string, ppsPin *int) (*Plan, error) {
	h, err := board.Profile(hat)
	if err != nil {
		var fe *board.FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("setup: %w", fe.Err)
		}
		return nil, fmt.Errorf("setup: %w", err)
	}
	m, err := board.DetectModel(modelTree)
	if err != nil {
		return nil, fmt.Errorf("setup: %w (gnomon setup knows the Raspberry Pi Zero W, Zero 2 W, 3, 4 and 5)", err)
	}
	if h.PinFromUser && ppsPin == nil {
		return nil, fmt.Errorf("setup: hat %s is wired by hand: give the GPIO its PPS output is wired to with --pps-pin N (GPIO18, header pin 12, is usual)", h.Name)
	}
	pinGiven := ppsPin != nil
	if pinGiven {
		if *ppsPin < 2 || *ppsPin > board.MaxHeaderPin {
			return nil, fmt.Errorf("setup: --pps-pin %d is not a header GPIO 2..%d (GPIO0 and 1 are the HAT EEPROM's)", *ppsPin, board.MaxHeaderPin)
		}
		h.PPSPin = *ppsPin
		h.PPSDevice = "/dev/pps0"
		h.ConfigTxt = []string{"enable_uart=1", fmt.Sprintf("dtoverlay=pps-gpio,gpiopin=%d", h.PPSPin)}
	}
	p := &Plan{Model: m, Hat: h}
	p.ConfigTxt = append(slices.Clone(h.ConfigTxt), m.Board.ConfigTxt...)
	p.Consoles = m.Board.ConsoleUARTs
	p.CmdlineAdd = m.Board.CmdlineAdd
	if m.Board.BluetoothUART {
		p.Services = []string{"hciuart"}
	}
	p.Warnings = append(slices.Clone(h.Unconfirmed), m.Board.Unconfirmed...)
	if pinGiven {
		// The pin is the user's: its facts are no longer the row's.
		p.Warnings = slices.DeleteFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "PPS pin is not confirmed") })
	}
	p.TOML = p.configFile(pinGiven)
	return p, nil
}

// configFile is gnomon.toml for the plan.
func (p *Plan) configFile(pinGiven bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gnomon configuration written by gnomon setup for a %s with a %s.\n", p.Model.Name, p.Hat.Title)
	b.WriteString("# Every key, with its unit and default: gnomon config default. Check a change: gnomon config check FILE.\n\n")
	b.WriteString("[board]\n")
	fmt.Fprintf(&b, "hat = %q\n", p.Hat.Name)
	if p.Model.Board.HeaderUART != p.Hat.SerialPath {
		fmt.Fprintf(&b, "# %s: the header UART (GPIO14/15) is %s.\n", p.Model.Board.Family, p.Model.Board.HeaderUART)
		fmt.Fprintf(&b, "serial_path = %q\n", p.Model.Board.HeaderUART)
	}
	if pinGiven {
		fmt.Fprintf(&b, "pps_pin = %d\npps_device = %q\n", p.Hat.PPSPin, p.Hat.PPSDevice)
	}
	edge := p.Hat.EdgeDelay + p.Model.Board.PPSBias
	if p.Model.Board.PPSBias != 0 {
		fmt.Fprintf(&b, "# Calibration offset of the %s: its kernel PPS stamps run late (with pcie_aspm.policy=performance);\n", p.Model.Board.Family)
		b.WriteString("# adjust against a known-good server.\n")
	} else {
		b.WriteString("# Calibration offset: how late this board's PPS stamps are; not measured for this board.\n")
	}
	fmt.Fprintf(&b, "edge_delay = %q\n\n", fmtDuration(edge))
	b.WriteString("[discipline]\ndrift_file = \"/var/lib/gnomon/drift\"\n\n")
	b.WriteString("[server]\nlisten = [\"0.0.0.0:123\", \"[::]:123\"]\n\n")
	b.WriteString("[system]\nuser = \"gnomon\"\nlog_level = \"info\"\n")
	return b.String()
}

// fmtDuration writes d in nanoseconds, which every TOML reader and
// time.ParseDuration take as it is.
func fmtDuration(d time.Duration) string { return fmt.Sprintf("%dns", d.Nanoseconds()) }

// ConfigBlock is the text Apply appends to config.txt when none of its
// lines is there yet: a comment line, [all] (so no earlier conditional
// section swallows them), and the lines. Never a trailing comment: on an
// overlay line the firmware reads it as part of the overlay's name.
func (p *Plan) ConfigBlock(lines []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gnomon setup: %s on a %s\n[all]\n", p.Hat.Title, p.Model.Board.Family)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// CmdlineChanges returns cmdline.txt's new content and what changed:
// console= tokens naming one of the plan's consoles removed, the plan's
// parameters added where missing. The file is one line.
func (p *Plan) CmdlineChanges(old string) (string, []string) {
	var out, changes []string
	for _, tok := range strings.Fields(old) {
		dev, ok := strings.CutPrefix(tok, "console=")
		if ok {
			dev, _, _ = strings.Cut(dev, ",")
			if slices.Contains(p.Consoles, dev) {
				changes = append(changes, "cmdline.txt: removed "+tok+" (serial login console on the GPS UART)")
				continue
			}
		}
		out = append(out, tok)
	}
	for _, add := range p.CmdlineAdd {
		if !slices.Contains(out, add) {
			out = append(out, add)
			changes = append(changes, "cmdline.txt: added "+add)
		}
	}
	return strings.Join(out, " ") + "\n", changes
}

// ConfigTxtChanges returns config.txt's new content and what changed:
// lines that fight the plan (another pps-gpio pin, enable_uart=0,
// miniuart-bt where disable-bt is wanted) are commented out, and the
// plan's lines missing from the unconditional part are appended in one
// block. A file that has them all is returned unchanged.
func (p *Plan) ConfigTxtChanges(old string) (string, []string) {
	lines := strings.Split(strings.TrimSuffix(old, "\n"), "\n")
	if old == "" {
		lines = nil
	}
	present := map[string]bool{}
	var changes []string
	section := ""
	for i, raw := range lines {
		l := strings.TrimSpace(raw)
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		if l == "" || l[0] == '#' {
			continue
		}
		if section != "" && section != "[all]" {
			continue
		}
		if slices.Contains(p.ConfigTxt, l) {
			present[l] = true
			continue
		}
		if p.fights(l) {
			lines[i] = "#" + raw
			changes = append(changes, fmt.Sprintf("config.txt: commented out %q (line %d)", l, i+1))
		}
	}
	var missing []string
	for _, l := range p.ConfigTxt {
		if !present[l] {
			missing = append(missing, l)
			changes = append(changes, "config.txt: added "+l)
		}
	}
	if len(changes) == 0 {
		return old, nil
	}
	text := strings.Join(lines, "\n")
	if len(lines) > 0 {
		text += "\n"
	}
	if len(missing) > 0 {
		if text != "" {
			text += "\n"
		}
		text += p.ConfigBlock(missing)
	}
	return text, changes
}

// fights reports whether an active config.txt line undoes the plan.
func (p *Plan) fights(l string) bool {
	key, _, _ := strings.Cut(l, "=")
	switch {
	case strings.HasPrefix(l, "dtoverlay=pps-gpio"):
		return true // another pin, or the same with other options: one pps0 only
	case key == "enable_uart" && slices.Contains(p.ConfigTxt, "enable_uart=1"):
		return true
	case strings.HasPrefix(l, "dtoverlay=miniuart-bt") && slices.Contains(p.ConfigTxt, "dtoverlay=disable-bt"):
		return true
	}
	return false
}

// Print writes the plan: the board and hat, the warnings, and the exact
// lines for config.txt and cmdline.txt and the commands for services.
func (p *Plan) Print(w io.Writer, bootDir string) {
	fmt.Fprintf(w, "board: %s (%s, header GPIO chip %q found by label)\n", p.Model.Name, p.Model.Board.Family, p.Model.GPIOChipLabel)
	fmt.Fprintf(w, "hat:   %s (%s): NMEA on %s at %d baud", p.Hat.Title, p.Hat.Name, p.serialPath(), p.Hat.Baud)
	if p.Hat.HasPPS() {
		fmt.Fprintf(w, ", PPS on GPIO%d (%s)\n", p.Hat.PPSPin, p.Hat.PPSDevice)
	} else {
		fmt.Fprintln(w, ", no PPS: NMEA only")
	}
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	fmt.Fprintf(w, "\n%s needs these lines (each on its own line, no trailing comments):\n\n", filepath.Join(bootDir, "config.txt"))
	fmt.Fprint(w, p.ConfigBlock(p.ConfigTxt))
	fmt.Fprintf(w, "\n%s: remove any console=%s (the serial login console)", filepath.Join(bootDir, "cmdline.txt"), strings.Join(p.Consoles, ", console="))
	if len(p.CmdlineAdd) > 0 {
		fmt.Fprintf(w, "; add %s", strings.Join(p.CmdlineAdd, " "))
	}
	fmt.Fprintln(w)
	for _, s := range p.Services {
		fmt.Fprintf(w, "Bluetooth shares this UART: sudo systemctl disable --now %s\n", s)
	}
}

func (p *Plan) serialPath() string {
	if p.Model.Board.HeaderUART != p.Hat.SerialPath {
		return p.Model.Board.HeaderUART
	}
	return p.Hat.SerialPath
}

// BootFiles returns config.txt and cmdline.txt in dir: dir itself, or
// dir/firmware (Bookworm mounts the boot partition at /boot/firmware).
func BootFiles(dir string) (configTxt, cmdlineTxt string, err error) {
	for _, d := range []string{filepath.Join(dir, "firmware"), dir} {
		c := filepath.Join(d, "config.txt")
		if _, err := os.Stat(c); err == nil {
			return c, filepath.Join(d, "cmdline.txt"), nil
		}
	}
	return "", "", fmt.Errorf("setup: no config.txt in %s or %s (is the boot partition mounted? give it with --boot-dir)", dir, filepath.Join(dir, "firmware"))
}

// DefaultBootDir is the running system's boot partition: /boot/firmware
// on Bookworm and later, /boot before.
func DefaultBootDir() string {
	if _, err := os.Stat("/boot/firmware/config.txt"); err == nil {
		return "/boot/firmware"
	}
	return "/boot"
}

// WriteConfig writes the plan's gnomon.toml under root, keeping a backup
// of a different file already there; it reports what it did.
func (p *Plan) WriteConfig(root string) (string, error) {
	path := filepath.Join(root, ConfigPath)
	old, err := os.ReadFile(path)
	switch {
	case err == nil && string(old) == p.TOML:
		return path + ": unchanged", nil
	case err == nil:
		if err := os.WriteFile(path+BackupSuffix, old, 0o644); err != nil {
			return "", fmt.Errorf("setup: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("setup: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	if err := os.WriteFile(path, []byte(p.TOML), 0o644); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	if len(old) > 0 {
		return fmt.Sprintf("%s: written (the previous file kept as %s%s)", path, path, BackupSuffix), nil
	}
	return path + ": written", nil
}

// Apply edits config.txt and cmdline.txt in bootDir (backing each up
// before its first change) and disables the plan's services through
// disable (nil: left to the caller to print). It returns what changed; none
// means the boot files already had everything.
func (p *Plan) Apply(bootDir string, disable func(service string) error) ([]string, error) {
	configTxt, cmdlineTxt, err := BootFiles(bootDir)
	if err != nil {
		return nil, err
	}
	var changes []string
	for _, f := range []struct {
		path string
		edit func(string) (string, []string)
	}{{configTxt, p.ConfigTxtChanges}, {cmdlineTxt, p.CmdlineChanges}} {
		old, err := os.ReadFile(f.path)
		if err != nil {
			return changes, fmt.Errorf("setup: %w", err)
		}
		text, ch := f.edit(string(old))
		if len(ch) == 0 {
			continue
		}
		if err := backup(f.path, old); err != nil {
			return changes, err
		}
		if err := os.WriteFile(f.path, []byte(text), 0o644); err != nil {
			return changes, fmt.Errorf("setup: %w", err)
		}
		changes = append(changes, ch...)
	}
	for _, s := range p.Services {
		if disable == nil {
			continue
		}
		if err := disable(s); err != nil {
			return changes, fmt.Errorf("setup: disable %s: %w", s, err)
		}
		changes = append(changes, "disabled "+s+".service (Bluetooth shared the UART)")
	}
	return changes, nil
}

// backup keeps the original of path once: a later run does not overwrite
// the first backup with an already edited file.
func backup(path string, data []byte) error {
	b := path + BackupSuffix
	if _, err := os.Stat(b); err == nil {
		return nil
	}
	if err := os.WriteFile(b, data, 0o644); err != nil {
		return fmt.Errorf("setup: backup: %w", err)
	}
	return nil
}
