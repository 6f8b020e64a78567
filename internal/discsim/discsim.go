// Package discsim runs the discipline accuracy scenarios of
// ../shared/BENCHMARKS.md section 1 over the real refclock and discipline code.
package discsim

import (
	"errors"
	"io"
)

// Main runs `gnomon sim` with args (the words after "sim") and prints to stdout.
func Main(args []string, stdout io.Writer) error {
	return errors.New("sim: not implemented yet")
}
