package privdrop

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// allThreads runs a system call on every thread of the process (capability
// sets, securebits and no_new_privs are per thread on Linux).
func allThreads(name string, trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	switch {
	case errno == syscall.ENOTSUP:
		return ErrCgo
	case errno != 0:
		return fmt.Errorf("privdrop: %s: %w", name, errno)
	}
	return nil
}

// Drop makes the process run as uid and gid (with no supplementary groups)
// keeping only the capabilities in keep, effective and permitted, on every
// thread: it clears the bounding set of everything else, sets
// PR_SET_KEEPCAPS so the uid change keeps the permitted set, changes
// groups, gid and uid, sets the capability sets, clears the inheritable and
// ambient sets and sets PR_SET_NO_NEW_PRIVS so no exec can regain
// privileges. uid or gid -1 leaves that id (and, for gid, the supplementary
// groups) as it is. Changing ids needs root (CAP_SETUID, CAP_SETGID); a
// process started as its final user with the kept capabilities in its
// permitted set (systemd AmbientCapabilities=) calls Drop(-1, -1, keep).
// On error the process is in an unknown state and should exit.
func Drop(uid, gid int, keep []int) error {
	want := Mask(keep)
	last, err := lastCap()
	if err != nil {
		return err
	}
	// The bounding set first: dropping from it needs CAP_SETPCAP, which the
	// capset below removes. A process started unprivileged with ambient
	// capabilities (systemd's AmbientCapabilities=) lacks CAP_SETPCAP and
	// cannot; no_new_privs, set below, then keeps exec from using the
	// bounding set anyway (systemd's CapabilityBoundingSet= can clear it).
	eff, err := effective()
	if err != nil {
		return err
	}
	for c := 0; c <= last && eff&(1<<CapSetpcap) != 0; c++ {
		if want&(1<<uint(c)) != 0 {
			continue
		}
		if err := allThreads(fmt.Sprintf("prctl(PR_CAPBSET_DROP, %d)", c), unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
			return err
		}
	}
	if err := allThreads("prctl(PR_SET_KEEPCAPS)", unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return err
	}
	if gid >= 0 {
		// syscall's Setgroups, Setgid and Setuid act on every thread.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("privdrop: setgroups: %w", err)
		}
		if err := syscall.Setresgid(gid, gid, gid); err != nil {
			return fmt.Errorf("privdrop: setresgid(%d): %w", gid, err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setresuid(uid, uid, uid); err != nil {
			return fmt.Errorf("privdrop: setresuid(%d): %w", uid, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Effective = uint32(want)
	data[0].Permitted = uint32(want)
	data[1].Effective = uint32(want >> 32)
	data[1].Permitted = uint32(want >> 32)
	if err := allThreads("capset", unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return err
	}
	if err := allThreads("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return err
	}
	if err := allThreads("prctl(PR_SET_KEEPCAPS, 0)", unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0, 0); err != nil {
		return err
	}
	if err := allThreads("prctl(PR_SET_NO_NEW_PRIVS)", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return err
	}
	return nil
}

// Effective returns the calling thread's effective capability set as a bit
// mask (see Mask).
func Effective() (uint64, error) { return effective() }

// effective returns the calling thread's effective capability set.
func effective() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("privdrop: capget: %w", err)
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}

// lastCap is the highest capability number the kernel knows.
func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("privdrop: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("privdrop: /proc/sys/kernel/cap_last_cap: %w", err)
	}
	if n < 0 || n > 63 {
		return 0, errors.New("privdrop: /proc/sys/kernel/cap_last_cap out of range")
	}
	return n, nil
}
