// Package privdrop reduces a root process to an unprivileged user that keeps
// only the capabilities an NTP server needs, on every thread of the process.
package privdrop

import (
	"errors"
	"strconv"
)

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

// capNames are the names of the capabilities gnomon may keep.
var capNames = map[int]string{CapNetBindService: "CAP_NET_BIND_SERVICE", CapSetpcap: "CAP_SETPCAP", CapSysTime: "CAP_SYS_TIME"}

// Names returns caps as a comma-separated list of their names ("none" for
// an empty list), for the log.
func Names(caps []int) string {
	if len(caps) == 0 {
		return "none"
	}
	s := ""
	for i, c := range caps {
		if i > 0 {
			s += ","
		}
		if n, ok := capNames[c]; ok {
			s += n
		} else {
			s += "CAP_" + strconv.Itoa(c)
		}
	}
	return s
}
