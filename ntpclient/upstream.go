package ntpclient

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Upstream is one configured server or pool: `server HOST[:PORT] [iburst]
// [prefer] [minpoll N] [maxpoll N]` or `pool NAME ...` in the spirit of
// chrony's and ntpd's directives.
type Upstream struct {
	// Host is a name or a literal address; Port the UDP port (123).
	Host string
	Port int
	// Pool takes several addresses from the name, one peer each (up to
	// PoolPeers).
	Pool bool
	// Peer configures the server (or each pool member).
	Peer PeerConfig
}

// PoolPeers is how many addresses a pool entry uses.
const PoolPeers = 4

// String formats u as ParseUpstream reads it.
func (u Upstream) String() string {
	s := "server "
	if u.Pool {
		s = "pool "
	}
	s += net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	if u.Peer.IBurst {
		s += " iburst"
	}
	if u.Peer.Prefer {
		s += " prefer"
	}
	return s + fmt.Sprintf(" minpoll %d maxpoll %d", u.Peer.MinPollLog2, u.Peer.MaxPollLog2)
}

// ParseUpstream parses one entry: an optional leading "server" or "pool",
// then HOST, HOST:PORT or [IPV6]:PORT, then options: iburst, noiburst,
// prefer, port N, minpoll N, maxpoll N (log2 seconds). iburst is on by
// default, as the pool's guidance asks.
func ParseUpstream(s string) (Upstream, error) {
	f := strings.Fields(s)
	u := Upstream{Port: 123, Peer: DefaultPeerConfig()}
	if len(f) > 0 && (f[0] == "server" || f[0] == "pool") {
		u.Pool = f[0] == "pool"
		f = f[1:]
	}
	if len(f) == 0 {
		return u, fmt.Errorf("upstream %q: no host", s)
	}
	host := f[0]
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return u, fmt.Errorf("upstream %q: port %q", s, p)
		}
		host, u.Port = h, n
	}
	if host == "" || strings.ContainsAny(host, " /[]%") {
		return u, fmt.Errorf("upstream %q: bad host %q", s, host)
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return u, fmt.Errorf("upstream %q: bad host %q", s, host)
		}
	}
	u.Host = host
	num := func(i int, name string, lo, hi int) (int, error) {
		if i+1 >= len(f) {
			return 0, fmt.Errorf("upstream %q: %s needs a number", s, name)
		}
		n, err := strconv.Atoi(f[i+1])
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("upstream %q: %s %q not in %d..%d", s, name, f[i+1], lo, hi)
		}
		return n, nil
	}
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "iburst":
			u.Peer.IBurst = true
		case "noiburst":
			u.Peer.IBurst = false
		case "prefer":
			u.Peer.Prefer = true
		case "port":
			n, err := num(i, "port", 1, 65535)
			if err != nil {
				return u, err
			}
			u.Port, i = n, i+1
		case "minpoll", "maxpoll":
			n, err := num(i, f[i], 0, 17)
			if err != nil {
				return u, err
			}
			if f[i] == "minpoll" {
				u.Peer.MinPollLog2 = int8(n)
			} else {
				u.Peer.MaxPollLog2 = int8(n)
			}
			i++
		default:
			return u, fmt.Errorf("upstream %q: unknown option %q", s, f[i])
		}
	}
	if err := u.Peer.Validate(); err != nil {
		return u, fmt.Errorf("upstream %q: %w", s, err)
	}
	return u, nil
}
