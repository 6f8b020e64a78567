//go:build !linux

package pps

import (
	"fmt"
	"runtime"
)

// OpenGPIOLine requests a GPIO character device line; only Linux has one.
func OpenGPIOLine(chip string, offset uint32, pol Polarity) (Source, error) {
	return nil, fmt.Errorf("pps: gpio line %d of %s: not supported on %s (Linux only)", offset, chip, runtime.GOOS)
}
