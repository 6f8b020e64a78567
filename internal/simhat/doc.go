// Package simhat is a realtime simulated GPS hat: it emits PPS edges stamped
// by a simulated local clock and writes u-blox-like NMEA into a pseudo-terminal.
package simhat
