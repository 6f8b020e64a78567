//go:build !linux

package board

import (
	"fmt"
	"runtime"
)

// chipInfo needs the Linux GPIO character device.
func chipInfo(dev string) (Chip, error) {
	return Chip{}, fmt.Errorf("board: gpio chip %s: not supported on %s", dev, runtime.GOOS)
}
