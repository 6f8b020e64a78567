package discipline

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
)

// DefaultTemperatureFile is the SoC temperature of a Raspberry Pi (and of
// most Linux boards): millidegrees Celsius as decimal text.
const DefaultTemperatureFile = "/sys/class/thermal/thermal_zone0/temp"

// maxTemperatureFile bounds a temperature file read: a sysfs attribute is
// at most a page (and stat says 4096 for any).
const maxTemperatureFile = 4096

// ParseMilliCelsius reads a sysfs thermal value: an optional sign and
// decimal millidegrees Celsius, optionally followed by a newline. Anything
// else, or a value outside minTempC..maxTempC, is an error.
func ParseMilliCelsius(b []byte) (float64, error) {
	s := bytes.TrimSuffix(b, []byte("\n"))
	if len(s) == 0 || len(s) > 12 {
		return 0, fmt.Errorf("discipline: temperature %q: want millidegrees Celsius", b)
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("discipline: temperature %q: want millidegrees Celsius", b)
	}
	c := float64(v) / 1000
	if c < minTempC || c > maxTempC {
		return 0, fmt.Errorf("discipline: temperature %.3f °C outside %v..%v °C", c, minTempC, maxTempC)
	}
	return c, nil
}

// ReadTemperature reads a sysfs thermal file (regular files only, read
// bounded) and returns its temperature in degrees Celsius.
func ReadTemperature(path string) (float64, error) {
	b, err := safefile.Read(path, maxTemperatureFile)
	if err != nil {
		return 0, err
	}
	return ParseMilliCelsius(b)
}
