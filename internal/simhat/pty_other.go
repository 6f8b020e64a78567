//go:build !linux

package simhat

import (
	"errors"
	"os"
)

// openPTY is Linux-only: the simulated hat needs /dev/ptmx.
func openPTY() (master, slave *os.File, path string, err error) {
	return nil, nil, "", errors.New("simhat: pseudo-terminals are supported on Linux only")
}
