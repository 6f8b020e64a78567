package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrAddrInUse is returned (wrapped) by Listen when another process already
// serves one of the listen addresses.
var ErrAddrInUse = errors.New("address already in use")

// probeExclusive binds ap once without SO_REUSEPORT and closes it again. The
// workers share their port with SO_REUSEPORT, which would let a second
// gnomon (or any process of the same user setting it) join the group and
// take half the queries; a plain bind fails while anything holds the
// address, so Listen refuses instead, naming the holder when /proc shows
// it. Port 0 (a fresh port) is not probed.
func probeExclusive(ap netip.AddrPort) error {
	if ap.Port() == 0 {
		return nil
	}
	network := "udp4"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		network = "udp6" // IPV6_V6ONLY, as the workers' sockets
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			held := ""
			if pids := portHolders(ap.Port()); len(pids) > 0 {
				held = " by " + strings.Join(pids, ", ")
			}
			return fmt.Errorf("%s is held%s (another gnomon or NTP server?): %w", ap, held, ErrAddrInUse)
		}
		return err
	}
	return c.Close()
}

// portHolders names the processes ("PID 123 (gnomon)") with a UDP socket
// bound to port, as far as /proc lets this process see (all of them as
// root); best effort, nil when nothing is found.
func portHolders(port uint16) []string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && uint16(p) == port && fs[9] != "0" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return nil
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, p := range procs {
		fds, err := os.ReadDir(filepath.Join(p, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(p, "fd", fd.Name())); err == nil && inodes[l] {
				comm, _ := os.ReadFile(filepath.Join(p, "comm"))
				out = append(out, fmt.Sprintf("PID %s (%s)", filepath.Base(p), strings.TrimSpace(string(comm))))
				break
			}
		}
	}
	return out
}
