// Package privdrop reduces a root process to an unprivileged user that keeps
// only the capabilities an NTP server needs, on every thread of the process.
package privdrop

import "errors"

// Capability numbers from linux/capability.h.
const (
	CapNetBindService = 10
	CapSetpcap        = 8
	CapSysTime        = 25
)

// Keep is what gnomon keeps after opening its devices and sockets: setting
// the clock (adjtimex) and binding port 123 (a rebind after an interface
// change).
var Keep = []int{CapSysTime, CapNetBindService}

// ErrCgo is returned when the binary links cgo: the Go runtime then cannot
// apply a system call to every thread, so the drop could not be made whole.
var ErrCgo = errors.New("privdrop: the binary links cgo, so capabilities cannot be set on every thread; build with CGO_ENABLED=0 (make cross does)")

// Mask returns the capability bit mask of caps.
func Mask(caps []int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << uint(c)
	}
	return m
}
