//go:build linux

package board

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// chipInfo asks a GPIO character device for its name, label and line count.
func chipInfo(dev string) (Chip, error) {
	f, err := os.Open(dev)
	if err != nil {
		return Chip{}, fmt.Errorf("board: open gpio chip: %w", err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return Chip{}, fmt.Errorf("board: %s: %w", dev, err)
	}
	var info unix.GPIOChipInfo
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, unix.GPIO_GET_CHIPINFO_IOCTL, uintptr(unsafe.Pointer(&info)))
	}); err != nil {
		return Chip{}, fmt.Errorf("board: %s: %w", dev, err)
	}
	if errno != 0 {
		return Chip{}, fmt.Errorf("board: GPIO_GET_CHIPINFO_IOCTL on %s: %w", dev, errno)
	}
	name := string(bytes.TrimRight(info.Name[:], "\x00"))
	if name == "" {
		name = filepath.Base(dev)
	}
	return Chip{
		Name:  name,
		Path:  dev,
		Label: string(bytes.TrimRight(info.Label[:], "\x00")),
		Lines: int(info.Lines),
	}, nil
}
