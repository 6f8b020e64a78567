package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// ErrNoPPS is returned by OpenPPS when the hat's pulse is not wired to the
// Pi or PPS is switched off: run on NMEA alone.
var ErrNoPPS = errors.New("board: no PPS source")

// OpenOptions tunes OpenPPS. The zero value chooses automatically on the
// running system and logs to slog.Default().
type OpenOptions struct {
	// Method is MethodAuto ("" too), MethodKernel, MethodGPIOChip,
	// MethodPeriph or MethodNone (see Config.PPSMethod).
	Method string
	// CaptureClear makes the kernel source capture the clear edge.
	CaptureClear bool
	// Root prefixes /dev, /sys and /proc paths ("" is "/"); for tests.
	Root string
	// Logger receives which source was chosen and why; nil is slog.Default().
	Logger *slog.Logger
	// Now stamps periph edges; nil is time.Now.
	Now func() time.Time

	// periphPin replaces host.Init + gpioreg.ByName in tests.
	periphPin func(name string) (gpio.PinIn, error)
}

// OpenOptions returns the options matching c's PPS settings.
func (c Config) OpenOptions(log *slog.Logger) OpenOptions {
	return OpenOptions{Method: c.PPSMethod, CaptureClear: c.CaptureClear, Logger: log}
}

// OpenPPS opens the best PPS source for hat. In auto mode it tries, in
// order of precision: the kernel device hat.PPSDevice (pps-gpio overlay,
// ~1 µs); the GPIO character device line hat.PPSPin on hat.GPIOChip or
// the header's chip found by its label (kernel-stamped, a few µs); periph's WaitForEdge on
// the pin (user-space stamps, ~50 µs, millisecond tails). It logs the
// choice and why the better ones were passed over, and returns an error
// joining every attempt's failure if none works, or ErrNoPPS if the hat
// has no pulse wired or the method is MethodNone.
func OpenPPS(hat Hat, opts OpenOptions) (pps.Source, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	method := opts.Method
	if method == "" {
		method = MethodAuto
	}
	switch method {
	case MethodAuto, MethodKernel, MethodGPIOChip, MethodPeriph:
	case MethodNone:
		log.Info("pps: disabled by configuration; NMEA only")
		return nil, fmt.Errorf("%w: pps_method none", ErrNoPPS)
	default:
		return nil, fmt.Errorf("board: pps_method %q unknown", method)
	}
	if !hat.HasPPS() {
		log.Warn("pps: hat has no PPS wired; NMEA only", "hat", hat.Name, "notes", hat.Notes)
		return nil, fmt.Errorf("%w: hat %s has neither a PPS device nor a PPS pin", ErrNoPPS, hat.Name)
	}
	root := rootDir(opts.Root)
	auto := method == MethodAuto
	var failed []error

	if (auto || method == MethodKernel) && hat.PPSDevice != "" {
		dev := filepath.Join(root, hat.PPSDevice)
		src, err := pps.OpenKernel(dev, opts.CaptureClear)
		if err == nil {
			log.Info("pps: using kernel PPS", "method", MethodKernel, "device", dev,
				"clear_edge", opts.CaptureClear, "precision", src.Precision(),
				"why", "kernel PPS device present (pps-gpio overlay), stamps in the interrupt handler")
			return src, nil
		}
		failed = append(failed, fmt.Errorf("kernel: %w", err))
		if !auto {
			return nil, err
		}
		level := slog.LevelWarn
		if errors.Is(err, os.ErrNotExist) {
			level = slog.LevelInfo // normal without the overlay (e.g. gokrazy kernels)
		}
		log.Log(context.Background(), level, "pps: kernel PPS unavailable, trying the GPIO character device", "device", dev, "err", err)
	}

	if (auto || method == MethodGPIOChip) && hat.PPSPin != NoPin {
		src, chip, err := openGPIOChipLine(root, hat, log)
		if err == nil {
			log.Info("pps: using GPIO character device", "method", MethodGPIOChip, "chip", chip.Path,
				"label", chip.Label, "line", hat.PPSPin, "edge", hat.Polarity, "precision", src.Precision(),
				"why", "kernel-stamped line events on CLOCK_REALTIME; no pps-gpio device")
			return src, nil
		}
		failed = append(failed, fmt.Errorf("gpiochip: %w", err))
		if !auto {
			return nil, err
		}
		log.Warn("pps: GPIO character device unavailable, falling back to periph user-space stamps", "line", hat.PPSPin, "err", err)
	}

	if (auto || method == MethodPeriph) && hat.PPSPin != NoPin {
		pinFn := opts.periphPin
		if pinFn == nil {
			pinFn = hostPin
		}
		name := fmt.Sprintf("GPIO%d", hat.PPSPin)
		src, err := openPeriph(pinFn, name, hat.Polarity, opts.Now)
		if err == nil {
			log.Warn("pps: using periph WaitForEdge with user-space stamps", "method", MethodPeriph, "pin", name,
				"edge", hat.Polarity, "precision", src.Precision(),
				"why", fmt.Sprintf("kernel-stamped sources failed: %v", errors.Join(failed...)))
			return src, nil
		}
		failed = append(failed, fmt.Errorf("periph: %w", err))
		if !auto {
			return nil, err
		}
	}
	return nil, fmt.Errorf("board: no PPS source for hat %s: %w", hat.Name, errors.Join(failed...))
}

// openGPIOChipLine requests the PPS line on hat.GPIOChip, or on the
// header's chip found by its label.
func openGPIOChipLine(root string, hat Hat, log *slog.Logger) (pps.Source, Chip, error) {
	if hat.GPIOChip != "" {
		path := hat.GPIOChip
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, "dev", path)
		} else {
			path = filepath.Join(root, path)
		}
		chip := Chip{Name: filepath.Base(path), Path: path}
		src, err := pps.OpenGPIOLine(path, uint32(hat.PPSPin), hat.Polarity)
		return src, chip, err
	}
	labels := []string{LabelRP1, LabelBCM2711, LabelBCM2835}
	if m, err := DetectModel(root); err == nil {
		labels = []string{m.GPIOChipLabel}
		log.Debug("pps: detected Raspberry Pi", "model", m.Name, "soc", m.SoC, "gpiochip_label", m.GPIOChipLabel)
	} else {
		log.Info("pps: Pi model unknown, trying every header chip label", "err", err)
	}
	var errs []error
	for _, label := range labels {
		chip, err := FindGPIOChip(root, label)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		src, err := pps.OpenGPIOLine(chip.Path, uint32(hat.PPSPin), hat.Polarity)
		if err != nil {
			return nil, chip, err
		}
		return src, chip, nil
	}
	return nil, Chip{}, errors.Join(errs...)
}

func openPeriph(pinFn func(string) (gpio.PinIn, error), name string, pol pps.Polarity, now func() time.Time) (pps.Source, error) {
	pin, err := pinFn(name)
	if err != nil {
		return nil, err
	}
	return pps.NewPeriph(pin, pol, now)
}

// hostPin initialises periph's host drivers (idempotent) and looks the pin
// up by name.
func hostPin(name string) (gpio.PinIn, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("board: periph host.Init: %w", err)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("board: periph knows no pin %s", name)
	}
	return p, nil
}
