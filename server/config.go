package server

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

// Config configures the NTP server.
type Config struct {
	// ListenAddrs are the UDP addresses to serve, "host:port" each; IPv4 and
	// IPv6 alike ("0.0.0.0:123", "[::]:123"). Port 0 picks a free port
	// (tests); every worker then shares it.
	ListenAddrs []string
	// Workers is the number of sockets (SO_REUSEPORT) and goroutines per
	// listen address.
	Workers int
	// BatchSize is how many datagrams one recvmmsg call moves; replies go
	// out in sendmmsg calls of at most 16, each with a fresh transmit time.
	BatchSize int
	// RateInterval is the average interval each client address may send
	// requests at once its burst is spent; 0 disables rate limiting.
	RateInterval time.Duration
	// RateBurst is how many requests a client address may send back to back.
	RateBurst int
	// RateLeakLog2: one in 2^RateLeakLog2 requests over the limit, chosen at
	// random, is answered normally all the same (chrony's leak), so a
	// spoofer flooding with a victim's address cannot silence the victim.
	// -1 answers none.
	RateLeakLog2 int
	// RateKoDAfter is how long a client must stay over its limit, without
	// its credit ever coming back, before it gets a RATE kiss-o'-death (at
	// most one per KoD poll interval, the rate interval rounded up to a
	// power of two, at least 16 s); the rest of its excess is dropped or
	// leaked. 0 never sends one.
	RateKoDAfter time.Duration
	// RateTableEntries bounds the number of client addresses tracked (memory
	// is fixed: 32 octets an entry, 2 MiB for the default, and a quarter as
	// many IPv6 prefixes). Rounded up to a power of two.
	RateTableEntries int
	// RateIPv6PrefixLen is the IPv6 prefix whose addresses share a ceiling
	// of RatePrefixFactor times one address's rate and burst (a /64 is one
	// LAN: its hosts are each limited as one address, and an attacker
	// sweeping its addresses gains no more than the ceiling). 128: none.
	RateIPv6PrefixLen int
	// RatePrefixFactor is the IPv6 prefix ceiling, in addresses' worth.
	RatePrefixFactor int
}

// DefaultConfig returns the configuration for a public pool server on port
// 123: a worker per CPU; 16 requests in a burst, then one every 0.5 s per
// address (pool clients poll every 64-1024 s; a NAT of 50 hosts polling
// every 64 s sends 0.8 a second), 64 times that for an IPv6 /64; one in
// four requests over the limit answered all the same, a RATE
// kiss-o'-death only after 30 s over the limit without a pause.
func DefaultConfig() Config {
	return Config{
		ListenAddrs:       []string{"0.0.0.0:123", "[::]:123"},
		Workers:           runtime.NumCPU(),
		BatchSize:         64,
		RateInterval:      500 * time.Millisecond,
		RateBurst:         16,
		RateLeakLog2:      2,
		RateKoDAfter:      30 * time.Second,
		RateTableEntries:  1 << 16,
		RateIPv6PrefixLen: 64,
		RatePrefixFactor:  64,
	}
}

// Limits enforced by Validate.
const (
	maxWorkers      = 256
	maxBatchSize    = 1024
	maxRateEntries  = 1 << 24
	maxRateBurst    = 1 << 16
	minRateInterval = time.Millisecond
)

// FieldError is a wrong value of one Config field: Field names it as Go
// spells it ("RateBurst"), Err says what is wrong.
type FieldError = fielderr.Error

// fieldErr returns a *FieldError about field.
func fieldErr(field, format string, args ...any) error {
	return fielderr.New("server", field, format, args...)
}

// Validate reports everything wrong with c, a *FieldError for each field
// (joined by errors.Join).
func (c Config) Validate() error {
	var errs []error
	if len(c.ListenAddrs) == 0 {
		errs = append(errs, fieldErr("ListenAddrs", "at least one address is required"))
	}
	for _, a := range c.ListenAddrs {
		if _, err := parseListenAddr(a); err != nil {
			errs = append(errs, fieldErr("ListenAddrs", "%w", err))
		}
	}
	if c.Workers < 1 || c.Workers > maxWorkers {
		errs = append(errs, fieldErr("Workers", "%d not in [1, %d]", c.Workers, maxWorkers))
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		errs = append(errs, fieldErr("BatchSize", "%d not in [1, %d]", c.BatchSize, maxBatchSize))
	}
	if c.RateInterval < 0 || (c.RateInterval > 0 && c.RateInterval < minRateInterval) {
		errs = append(errs, fieldErr("RateInterval", "%v: want 0s (off) or at least %v", c.RateInterval, minRateInterval))
	}
	if c.RateInterval > 0 {
		if c.RateBurst < 1 || c.RateBurst > maxRateBurst {
			errs = append(errs, fieldErr("RateBurst", "%d not in [1, %d]", c.RateBurst, maxRateBurst))
		}
		if c.RateLeakLog2 < -1 || c.RateLeakLog2 > 16 {
			errs = append(errs, fieldErr("RateLeakLog2", "%d not in [-1, 16]", c.RateLeakLog2))
		}
		if c.RateKoDAfter < 0 {
			errs = append(errs, fieldErr("RateKoDAfter", "%v must not be negative", c.RateKoDAfter))
		}
		if c.RatePrefixFactor < 1 || c.RatePrefixFactor > maxRateBurst {
			errs = append(errs, fieldErr("RatePrefixFactor", "%d not in [1, %d]", c.RatePrefixFactor, maxRateBurst))
		}
		if c.RateTableEntries < 16 || c.RateTableEntries > maxRateEntries {
			errs = append(errs, fieldErr("RateTableEntries", "%d not in [16, %d]", c.RateTableEntries, maxRateEntries))
		}
		if c.RateIPv6PrefixLen < 32 || c.RateIPv6PrefixLen > 128 {
			errs = append(errs, fieldErr("RateIPv6PrefixLen", "%d not in [32, 128]", c.RateIPv6PrefixLen))
		}
	}
	return errors.Join(errs...)
}

// parseListenAddr parses "host:port" with a literal IP address.
func parseListenAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q: want a literal IP and port: %w", s, err)
	}
	if ap.Addr().Zone() != "" && !ap.Addr().Is6() {
		return ap, fmt.Errorf("%q: zone on a non-IPv6 address", s)
	}
	return ap, nil
}

// kodPollLog2 is the poll a RATE kiss-o'-death asks for: the rate interval
// rounded up to a power of two, at least MINPOLL (RFC 5905 section 7.2).
func (c Config) kodPollLog2() int8 {
	p := int8(4)
	for p < maxPollLog2 && time.Duration(1)<<p*time.Second < c.RateInterval {
		p++
	}
	return p
}
