// Package pty opens pseudo-terminal pairs: the simulated GPS hat writes NMEA
// into the master while the real serial code reads the slave as a UART.
package pty

import "os"

// Pair is a pseudo-terminal. Master is the device side (non-blocking, so
// writes honour deadlines). Slave is held open in raw mode, so the line
// settings and buffered data survive a reader reopening Path.
type Pair struct {
	// Master is the device end a simulated receiver writes into.
	Master *os.File
	// Slave is the terminal end, kept open by the pair.
	Slave *os.File
	// Path is the slave's device path, for a serial reader to open.
	Path string
}
