package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrNotLoopback is returned for a target outside 127.0.0.0/8 and ::1: the
// generator floods, so it must never aim at another machine.
var ErrNotLoopback = errors.New("loadgen: target is not a loopback address (127.0.0.0/8 or ::1)")

// CheckTarget accepts only 127.0.0.0/8 and ::1 (an IPv4-mapped 127.x address
// is unmapped first) with a non-zero port.
func CheckTarget(ap netip.AddrPort) error {
	a := ap.Addr()
	if !a.IsValid() {
		return fmt.Errorf("%w: no address", ErrNotLoopback)
	}
	if a.Zone() != "" {
		return fmt.Errorf("%w: %s has a zone", ErrNotLoopback, a)
	}
	a = a.Unmap()
	if !(a.Is4() && a.As4()[0] == 127) && a != netip.IPv6Loopback() {
		return fmt.Errorf("%w: %s", ErrNotLoopback, a)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("loadgen: target %s has no port", ap)
	}
	return nil
}

// ParseTarget parses "host:port" (a literal address, no name lookup) and
// checks it with CheckTarget.
func ParseTarget(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("loadgen: target %q: %w", s, err)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := CheckTarget(ap); err != nil {
		return netip.AddrPort{}, err
	}
	return ap, nil
}
