//go:build !linux

package discipline

import "errors"

// ErrNoKernelClock is returned where adjtimex does not exist.
var ErrNoKernelClock = errors.New("discipline: adjtimex is Linux only")
