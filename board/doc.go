// Package board knows the Raspberry Pi models and GPS hats: serial path,
// baud rate, PPS device or pin, polarity, cable delay, and opens them.
package board
