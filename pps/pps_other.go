//go:build !linux

package pps

import (
	"fmt"
	"runtime"
)

// OpenKernel opens a kernel RFC 2783 PPS device; only Linux has one.
func OpenKernel(device string, captureClear bool) (Source, error) {
	return nil, fmt.Errorf("pps: kernel PPS device %s: not supported on %s (Linux only)", device, runtime.GOOS)
}
