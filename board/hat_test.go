package board

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
)

func TestProfiles(t *testing.T) {
	names := Names()
	want := []string{"adafruit-ultimate-gps", "ublox-neo-m8", "uputronics-gps-rtc", "waveshare-l76x", "waveshare-max-m8q"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("Names = %v, want %v", names, want)
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
	for alias, name := range map[string]string{"adafruit": "adafruit-ultimate-gps", "uputronics": "uputronics-gps-rtc",
		"waveshare": "waveshare-l76x", "ublox": "ublox-neo-m8", "neo-m8": "ublox-neo-m8", "NEO-M9": "ublox-neo-m8",
		"Uputronics": "uputronics-gps-rtc", " ADAFRUIT ": "adafruit-ultimate-gps", "Max-M8Q": "waveshare-max-m8q"} {
		if h, err := Profile(alias); err != nil || h.Name != name {
			t.Errorf("alias %s: %+v, %v; want %s", alias, h, err, name)
		}
	}
	if _, err := Profile("garmin-18x"); err == nil || !strings.Contains(err.Error(), "adafruit-ultimate-gps") {
		t.Errorf("unknown hat: %v, want the known names listed", err)
	}
}

// TestHatRowsComplete: every row of hats is a whole profile: names unique,
// a UART at a supported speed, a header PPS pin or an explicit NoPin (GPIO0
// and GPIO1 carry the HAT ID EEPROM, so 0 is a forgotten pin), a kernel
// device only with a pin, delays the refclock Locker accepts, and the
// config.txt lines for its UART and PPS overlay.
func TestHatRowsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, h := range hats {
		for _, n := range append([]string{h.Name}, h.Aliases...) {
			if n == "" || seen[n] {
				t.Errorf("row %q: name or alias %q empty or taken", h.Name, n)
			}
			seen[n] = true
		}
		if h.Title == "" || h.Receiver == "" || h.Notes == "" {
			t.Errorf("row %s: title, receiver or notes missing", h.Name)
		}
		if !strings.HasPrefix(h.SerialPath, "/dev/") {
			t.Errorf("row %s: serial path %q", h.Name, h.SerialPath)
		}
		if !slices.Contains(bauds, h.Baud) {
			t.Errorf("row %s: baud %d not in %v", h.Name, h.Baud, bauds)
		}
		if h.PPSPin != NoPin && (h.PPSPin < 2 || h.PPSPin > MaxHeaderPin) {
			t.Errorf("row %s: PPS pin %d is neither a header GPIO 2..%d nor NoPin", h.Name, h.PPSPin, MaxHeaderPin)
		}
		if h.PPSDevice != "" && (h.PPSPin == NoPin || !strings.HasPrefix(h.PPSDevice, "/dev/pps")) {
			t.Errorf("row %s: PPS device %q without a pin for its overlay, or not /dev/ppsN", h.Name, h.PPSDevice)
		}
		if err := h.Polarity.Validate(); err != nil {
			t.Errorf("row %s: %v", h.Name, err)
		}
		for _, u := range h.Unconfirmed {
			if !strings.HasPrefix(u, h.Name+": ") {
				t.Errorf("row %s: unconfirmed fact %q does not name its hat", h.Name, u)
			}
		}
		if !h.HasPPS() && len(h.Unconfirmed) == 0 {
			t.Errorf("row %s: no PPS and nothing unconfirmed: setup would not warn", h.Name)
		}
		if h.NMEADelay <= 0 {
			t.Errorf("row %s: no NMEA delay", h.Name)
		}
		if err := (refclock.LockerConfig{NMEADelay: h.NMEADelay, EdgeDelay: h.EdgeDelay}).Validate(); err != nil {
			t.Errorf("row %s: delays the Locker refuses: %v", h.Name, err)
		}
		want := []string{"enable_uart=1"}
		if h.PPSDevice != "" {
			overlay := fmt.Sprintf("dtoverlay=pps-gpio,gpiopin=%d", h.PPSPin)
			if h.Polarity == pps.Falling {
				overlay += ",assert_falling_edge=true"
			}
			want = append(want, overlay)
		}
		if !slices.Equal(h.ConfigTxt, want) {
			t.Errorf("row %s: config.txt lines %q, want %q", h.Name, h.ConfigTxt, want)
		}
		if err := (Config{Hat: h.Name}).Validate(); err != nil {
			t.Errorf("row %s: %v", h.Name, err)
		}
	}
	// Profile hands out copies: changing one leaves the row alone.
	h, _ := Profile("adafruit")
	h.ConfigTxt[0] = "changed"
	if h2, _ := Profile("adafruit"); h2.ConfigTxt[0] != "enable_uart=1" {
		t.Error("Profile shares the row's config.txt lines")
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

	// A bare PPS wire: a custom one needs no baud, a profile loses its UART.
	h, err = Config{SerialPath: SerialNone, PPSDevice: "/dev/pps0"}.Resolve()
	if err != nil || h.SerialPath != "" || h.Baud != 0 || h.PPSDevice != "/dev/pps0" {
		t.Errorf("custom bare PPS: %+v, %v", h, err)
	}
	h, err = Config{Hat: "uputronics", SerialPath: SerialNone}.Resolve()
	if err != nil || h.SerialPath != "" || h.Baud != 0 || !h.HasPPS() {
		t.Errorf("profile bare PPS: %+v, %v", h, err)
	}

	bad := []struct {
		c    Config
		want string
	}{
		{Config{Hat: "nope", PPSMethod: MethodAuto}, "unknown hat"},
		{Config{SerialPath: SerialNone}, "PPSDevice: a PPS input"},
		{Config{SerialPath: SerialNone, PPSDevice: "/dev/pps0", Baud: 9600}, "Baud: 9600, but serial_path is none"},
		{Config{Hat: "uputronics", SerialPath: SerialNone, PPSMethod: MethodNone}, "SerialPath: none leaves only the PPS wire"},
		{Config{Hat: "waveshare-l76x", SerialPath: SerialNone}, "SerialPath: none leaves only the PPS wire"},
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
	fields, other := fielderr.Fields(err)
	if got, want := strings.Join(fields, " "), "SerialPath Baud PPSPin Polarity PPSMethod"; got != want || other != nil {
		t.Errorf("fields %q, want %q (%v)", got, want, err)
	}
}

func pin(n int) *int { return &n }
