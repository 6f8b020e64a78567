package board

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/pps"
)

func TestProfiles(t *testing.T) {
	names := Names()
	want := []string{"adafruit-ultimate-gps", "ublox-neo-m8", "uputronics-gps-rtc", "waveshare-l76x"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("Names = %v, want %v", names, want)
	}
	for _, n := range names {
		h, err := Profile(n)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != n || h.SerialPath != "/dev/serial0" || !slices.Contains(bauds, h.Baud) || h.Polarity.Validate() != nil {
			t.Errorf("profile %s inconsistent: %+v", n, h)
		}
		if h.PPSPin != NoPin && (h.PPSPin < 2 || h.PPSPin > 27) {
			t.Errorf("profile %s: pin %d", n, h.PPSPin)
		}
		if h.NMEADelay <= 0 || h.NMEADelay >= time.Second {
			t.Errorf("profile %s: NMEA delay %v", n, h.NMEADelay)
		}
	}
	a, _ := Profile("adafruit-ultimate-gps")
	if a.PPSPin != 4 || a.Baud != 9600 || !a.HasPPS() {
		t.Errorf("Adafruit: %+v", a)
	}
	u, _ := Profile("uputronics-gps-rtc")
	if u.PPSPin != 18 || u.Receiver != "u-blox MAX-M8Q" {
		t.Errorf("Uputronics: %+v", u)
	}
	if w, _ := Profile("waveshare-l76x"); w.HasPPS() {
		t.Errorf("Waveshare has an unverified PPS pin but claims PPS: %+v", w)
	}
	if h, err := Profile("uputronics"); err != nil || h.Name != "uputronics-gps-rtc" {
		t.Errorf("alias uputronics: %+v, %v", h, err)
	}
	if _, err := Profile("garmin-18x"); err == nil || !strings.Contains(err.Error(), "adafruit-ultimate-gps") {
		t.Errorf("unknown hat: %v, want the known names listed", err)
	}
}

func TestConfigResolve(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	c := Config{
		Hat: "ublox", SerialPath: "/dev/ttyAMA0", Baud: 115200, PPSDevice: "/dev/pps1",
		PPSPin: pin(23), Polarity: "falling", EdgeDelay: -150 * time.Nanosecond, PPSMethod: MethodGPIOChip,
	}
	h, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "ublox-neo-m8" || h.SerialPath != "/dev/ttyAMA0" || h.Baud != 115200 || h.PPSDevice != "/dev/pps1" ||
		h.PPSPin != 23 || h.Polarity != pps.Falling || h.EdgeDelay != -150*time.Nanosecond {
		t.Errorf("overrides not applied: %+v", h)
	}
	// A custom receiver, on a line of another chip.
	h, err = Config{SerialPath: "/dev/ttyUSB0", Baud: 38400, PPSPin: pin(200), GPIOChip: "gpiochip2"}.Resolve()
	if err != nil || h.Name != "custom" || h.PPSPin != 200 || h.GPIOChip != "gpiochip2" || h.PPSDevice != "" || !h.HasPPS() {
		t.Errorf("custom: %+v, %v", h, err)
	}
	// GPIO0 is a valid override now that nil, not 0, means "keep".
	if h, err := (Config{Hat: "adafruit", PPSPin: pin(0)}).Resolve(); err != nil || h.PPSPin != 0 {
		t.Errorf("pin 0: %+v, %v", h, err)
	}
	h, err = Config{Hat: "uputronics-gps-rtc", PPSDevice: "none", PPSMethod: MethodAuto}.Resolve()
	if err != nil || h.PPSDevice != "" || h.PPSPin != 18 {
		t.Errorf("pps_device none: %+v, %v", h, err)
	}
	// Setting the pin on the Waveshare hat gives it PPS.
	h, err = Config{Hat: "waveshare", PPSPin: pin(18), PPSMethod: MethodPeriph}.Resolve()
	if err != nil || !h.HasPPS() {
		t.Errorf("waveshare with pin: %+v, %v", h, err)
	}

	bad := []struct {
		c    Config
		want string
	}{
		{Config{Hat: "nope", PPSMethod: MethodAuto}, "unknown hat"},
		{Config{SerialPath: "/dev/ttyUSB0"}, "Baud: required"},
		{Config{SerialPath: "/dev/ttyUSB0", Baud: 9600}, "PPS input"},
		{Config{Hat: "ublox-neo-m8", GPIOChip: "chip0"}, "GPIOChip"},
		{Config{Hat: "ublox-neo-m8", PPSPin: pin(28)}, "PPSPin: 28 is not a header GPIO"},
		{Config{Hat: "ublox-neo-m8", PPSPin: pin(1024), GPIOChip: "gpiochip1"}, "PPSPin: 1024 is not a GPIO line"},
		{Config{Hat: "ublox-neo-m8", PPSPin: pin(-1)}, "PPSPin: -1"},
		{Config{Hat: "ublox-neo-m8", SerialPath: "ttyS0", PPSMethod: MethodAuto}, "SerialPath"},
		{Config{Hat: "ublox-neo-m8", Baud: 9601, PPSMethod: MethodAuto}, "Baud: 9601 is not a supported baud rate"},
		{Config{Hat: "ublox-neo-m8", PPSDevice: "pps0", PPSMethod: MethodAuto}, "PPSDevice"},
		{Config{Hat: "ublox-neo-m8", Polarity: "up", PPSMethod: MethodAuto}, "Polarity"},
		{Config{Hat: "ublox-neo-m8", PPSMethod: "magic"}, "PPSMethod: \"magic\""},
		{Config{Hat: "ublox-neo-m8", PPSDevice: "none", PPSMethod: MethodKernel}, "no PPS device"},
		{Config{Hat: "waveshare-l76x", PPSMethod: MethodGPIOChip}, "no PPS pin"},
	}
	for _, b := range bad {
		err := b.c.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Validate(%+v) = %v, want it to mention %q", b.c, err, b.want)
		}
	}
}

// TestResolveReportsEveryField: every wrong field is reported, each a
// *FieldError naming the Go field.
func TestResolveReportsEveryField(t *testing.T) {
	err := Config{Baud: 9601, PPSPin: pin(2000), Polarity: "up", PPSMethod: "magic"}.Validate()
	var fields []string
	for _, e := range fielderr.All(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v (%T) is not a *FieldError", e, e)
		}
		fields = append(fields, fe.Field)
	}
	if got, want := strings.Join(fields, " "), "SerialPath Baud PPSPin Polarity PPSMethod"; got != want {
		t.Errorf("fields %q, want %q (%v)", got, want, err)
	}
}

func pin(n int) *int { return &n }
