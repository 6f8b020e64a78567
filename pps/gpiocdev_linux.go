//go:build linux

package pps

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// enum gpio_v2_line_flag from linux/gpio.h; x/sys v0.50.0 has the structs
// and ioctl numbers but not these.
const (
	gpioV2LineFlagActiveLow          = 1 << 1  // GPIO_V2_LINE_FLAG_ACTIVE_LOW
	gpioV2LineFlagInput              = 1 << 2  // GPIO_V2_LINE_FLAG_INPUT
	gpioV2LineFlagEdgeRising         = 1 << 4  // GPIO_V2_LINE_FLAG_EDGE_RISING
	gpioV2LineFlagEdgeFalling        = 1 << 5  // GPIO_V2_LINE_FLAG_EDGE_FALLING
	gpioV2LineFlagEventClockRealtime = 1 << 11 // GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME (Linux 5.11+)
)

// gpioConsumer names gnomon as the line's user in gpioinfo.
const gpioConsumer = "gnomon-pps"

// lineRequest builds the GPIO_V2_GET_LINE_IOCTL request for one input line
// reporting the on-time edge, stamped by the kernel on CLOCK_REALTIME.
func lineRequest(offset uint32, pol Polarity) unix.GPIOV2LineRequest {
	var req unix.GPIOV2LineRequest
	req.Offsets[0] = offset
	req.Num_lines = 1
	copy(req.Consumer[:len(req.Consumer)-1], gpioConsumer)
	edge := uint64(gpioV2LineFlagEdgeRising)
	if pol == Falling {
		edge = gpioV2LineFlagEdgeFalling
	}
	req.Config.Flags = gpioV2LineFlagInput | edge | gpioV2LineFlagEventClockRealtime
	// Event_buffer_size 0: the kernel's default, 16 events per line.
	return req
}

// OpenGPIOLine requests line offset of the GPIO character device chip
// (e.g. /dev/gpiochip0; on a Pi the line offset is the BCM GPIO number) as
// an input reporting pol edges, stamped in the kernel's interrupt handler on
// CLOCK_REALTIME. It needs Linux 5.11 or later and no overlay.
func OpenGPIOLine(chip string, offset uint32, pol Polarity) (Source, error) {
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	cf, err := os.OpenFile(chip, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("pps: open gpio chip: %w", err)
	}
	defer cf.Close() // the line's own descriptor outlives the chip's
	rc, err := cf.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("pps: %s: %w", chip, err)
	}
	req := lineRequest(offset, pol)
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.GPIO_V2_GET_LINE_IOCTL, uintptr(unsafe.Pointer(&req)))
	}); err != nil {
		return nil, fmt.Errorf("pps: %s: %w", chip, err)
	}
	if errno != 0 {
		hint := ""
		switch errno {
		case unix.EBUSY:
			hint = " (line in use: another program, or the pps-gpio overlay owns it)"
		case unix.EINVAL:
			hint = " (no such line, or kernel older than 5.11 without EVENT_CLOCK_REALTIME)"
		}
		return nil, fmt.Errorf("pps: GPIO_V2_GET_LINE_IOCTL line %d %s edge on %s%s: %w", offset, pol, chip, hint, errno)
	}
	lfd := int(req.Fd)
	// Non-blocking so the runtime poller can wake a Read for ctx and Close.
	if err := unix.SetNonblock(lfd, true); err != nil {
		unix.Close(lfd)
		return nil, fmt.Errorf("pps: set line %d of %s non-blocking: %w", offset, chip, err)
	}
	name := fmt.Sprintf("%s line %d", chip, offset)
	return newLineSource(os.NewFile(uintptr(lfd), name), name, pol), nil
}
