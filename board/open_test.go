package board

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// fakePi is a Pi 4 tree whose /dev/pps0 and /dev/gpiochip0 are plain
// files, so the kernel-stamped sources fail the way a wrong device does.
func fakePi(t *testing.T) string {
	return writeTree(t, map[string]string{
		"proc/device-tree/model":               "Raspberry Pi 4 Model B Rev 1.4\x00",
		"sys/bus/gpio/devices/gpiochip0/label": "pinctrl-bcm2711\n",
		"dev/pps0":                             "",
		"dev/gpiochip0":                        "",
	})
}

func testLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestOpenPPSAutoFallsBackToPeriph(t *testing.T) {
	root := fakePi(t)
	log, buf := testLogger()
	hat, _ := Profile("uputronics-gps-rtc")
	pin := &gpiotest.Pin{N: "GPIO18", Num: 18, EdgesChan: make(chan gpio.Level, 1)}
	var asked string
	stamp := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	src, err := OpenPPS(hat, OpenOptions{
		Root: root, Logger: log, Now: func() time.Time { return stamp },
		periphPin: func(name string) (gpio.PinIn, error) { asked = name; return pin, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if asked != "GPIO18" {
		t.Errorf("periph asked for pin %q, want GPIO18", asked)
	}
	if src.Precision() != pps.PeriphPrecision {
		t.Errorf("chose a source with precision %v, want the periph one", src.Precision())
	}
	pin.EdgesChan <- gpio.High
	e, err := src.Next(context.Background())
	if err != nil || !e.Time.Equal(stamp) {
		t.Errorf("Next = %+v, %v", e, err)
	}
	logs := buf.String()
	for _, want := range []string{
		"kernel PPS unavailable", "PPS_GETCAP on " + root + "/dev/pps0",
		"Raspberry Pi 4 Model B", "GPIO character device unavailable", "GPIO_V2_GET_LINE_IOCTL line 18",
		"using periph WaitForEdge", "precision=50µs",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestOpenPPSExplicitMethodsDoNotFallBack(t *testing.T) {
	root := fakePi(t)
	hat, _ := Profile("uputronics-gps-rtc")
	periphCalled := false
	opts := OpenOptions{Root: root, Logger: slog.New(slog.DiscardHandler),
		periphPin: func(string) (gpio.PinIn, error) { periphCalled = true; return nil, errors.New("no") }}

	opts.Method = MethodKernel
	if _, err := OpenPPS(hat, opts); err == nil || !strings.Contains(err.Error(), "PPS_GETCAP") {
		t.Errorf("kernel: %v", err)
	}
	opts.Method = MethodGPIOChip
	if _, err := OpenPPS(hat, opts); err == nil || !strings.Contains(err.Error(), "GPIO_V2_GET_LINE_IOCTL") {
		t.Errorf("gpiochip: %v", err)
	}
	if periphCalled {
		t.Error("an explicit method fell back to periph")
	}
	// An explicit chip skips the label lookup.
	hat.GPIOChip = "gpiochip3"
	if _, err := OpenPPS(hat, opts); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), root+"/dev/gpiochip3") {
		t.Errorf("gpiochip3: %v", err)
	}
	hat.GPIOChip = ""
	// A Pi 5 tree without the RP1 chip: the lookup failure is reported.
	pi5 := writeTree(t, map[string]string{"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00"})
	opts.Root = pi5
	if _, err := OpenPPS(hat, opts); err == nil || !strings.Contains(err.Error(), `no gpio chip labelled "pinctrl-rp1"`) {
		t.Errorf("gpiochip on Pi 5 without RP1: %v", err)
	}
}

func TestOpenPPSNothingWorks(t *testing.T) {
	hat, _ := Profile("adafruit-ultimate-gps")
	_, err := OpenPPS(hat, OpenOptions{
		Root: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		periphPin: func(name string) (gpio.PinIn, error) { return nil, fmt.Errorf("periph knows no pin %s", name) },
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"adafruit-ultimate-gps", "kernel:", "gpiochip:", "periph: periph knows no pin GPIO4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if errors.Is(err, ErrNoPPS) {
		t.Error("a wired hat whose sources fail is not ErrNoPPS")
	}
}

func TestOpenPPSNoPPS(t *testing.T) {
	log, buf := testLogger()
	w, _ := Profile("waveshare-l76x")
	if _, err := OpenPPS(w, OpenOptions{Logger: log}); !errors.Is(err, ErrNoPPS) {
		t.Errorf("hat without PPS: %v, want ErrNoPPS", err)
	}
	if !strings.Contains(buf.String(), "NMEA only") {
		t.Errorf("log: %s", buf.String())
	}
	a, _ := Profile("adafruit-ultimate-gps")
	if _, err := OpenPPS(a, OpenOptions{Method: MethodNone, Logger: log}); !errors.Is(err, ErrNoPPS) {
		t.Errorf("method none: %v, want ErrNoPPS", err)
	}
	if _, err := OpenPPS(a, OpenOptions{Method: "psychic", Logger: log}); err == nil || errors.Is(err, ErrNoPPS) {
		t.Errorf("unknown method: %v", err)
	}
	c := DefaultConfig()
	if o := c.OpenOptions(log); o.Method != MethodAuto || o.Logger != log {
		t.Errorf("Config.OpenOptions = %+v", o)
	}
}
