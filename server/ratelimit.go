package server

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
	"time"
	"unsafe"
)

// verdict is the rate limiter's decision on one request.
type verdict uint8

const (
	verdictAnswer verdict = iota // within the limit
	verdictKoD                   // over the limit: send a RATE kiss-o'-death
	verdictDrop                  // over the limit: drop silently
)

// rateWays is the associativity of the table: a key lives in one of the
// rateWays slots of its set, so memory is fixed and lookups are bounded.
const rateWays = 4

// rateShards is the number of locks; sets are spread over them so workers on
// different CPUs rarely contend.
const rateShards = 64

// rateEntry tracks one client address (or IPv6 prefix) with the generic cell
// rate algorithm: tat is the theoretical arrival time of the next request, in
// nanoseconds of the limiter's monotonic clock. A request is within the limit
// when it comes no more than (burst-1) intervals before tat.
type rateEntry struct {
	hi, lo  uint64 // the key: IPv4-mapped address or masked IPv6 prefix
	tat     int64  // 0: slot empty
	limited uint32 // requests over the limit, for the leak
}

// rateLimiter is a per-address limiter with bounded memory: a fixed-size,
// set-associative hash table (no maps, nothing grows under a flood). A new
// address evicts the entry in its set with the earliest tat, the one with the
// most credit left, whose loss forgives least.
type rateLimiter struct {
	interval  int64 // ns per request at the sustained rate
	tolerance int64 // (burst-1) * interval
	leakMask  uint32
	kod       bool
	prefix6   int
	seed0     uint64
	seed1     uint64
	setMask   uint64
	entries   []rateEntry
	locks     [rateShards]struct {
		sync.Mutex
		_ [64 - 8]byte // one lock a cache line
	}
}

// newRateLimiter returns a limiter for cfg (nil when rate limiting is off),
// with hash seeds so table collisions cannot be planned from outside.
func newRateLimiter(cfg Config, seed0, seed1 uint64) *rateLimiter {
	if cfg.RateInterval <= 0 {
		return nil
	}
	n := uint64(1) << bits.Len64(uint64(cfg.RateTableEntries-1))
	sets := n / rateWays
	l := &rateLimiter{
		interval:  int64(cfg.RateInterval),
		tolerance: int64(cfg.RateBurst-1) * int64(cfg.RateInterval),
		kod:       cfg.RateLeakLog2 >= 0,
		prefix6:   cfg.RateIPv6PrefixLen,
		seed0:     seed0 | 1,
		seed1:     seed1,
		setMask:   sets - 1,
		entries:   make([]rateEntry, sets*rateWays),
	}
	if l.kod {
		l.leakMask = 1<<uint(cfg.RateLeakLog2) - 1
	}
	return l
}

// key maps an address to its table key: IPv4 as IPv4-mapped IPv6, IPv6
// masked to the configured prefix.
func (l *rateLimiter) key(a netip.Addr) (hi, lo uint64) {
	a = a.Unmap()
	b := a.As16()
	if a.Is4() {
		b[10], b[11] = 0xff, 0xff
	}
	hi, lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	if a.Is6() {
		switch p := l.prefix6; {
		case p <= 64:
			hi &= ^uint64(0) << (64 - p)
			lo = 0
		case p < 128:
			lo &= ^uint64(0) << (128 - p)
		}
	}
	return hi, lo
}

// set returns the index of the first slot of the key's set.
func (l *rateLimiter) set(hi, lo uint64) uint64 {
	h := (hi ^ l.seed1) * l.seed0
	h ^= h >> 29
	h = (h ^ lo) * 0x9e3779b97f4a7c15
	h ^= h >> 32
	return h & l.setMask
}

// check accounts one request from a at monotonic time nowNs (> 0) and says
// what to do with it.
func (l *rateLimiter) check(a netip.Addr, nowNs int64) verdict {
	hi, lo := l.key(a)
	set := l.set(hi, lo)
	mu := &l.locks[set%rateShards]
	mu.Lock()
	ways := l.entries[set*rateWays : set*rateWays+rateWays]
	var e *rateEntry
	victim := &ways[0]
	for i := range ways {
		w := &ways[i]
		if w.tat != 0 && w.hi == hi && w.lo == lo {
			e = w
			break
		}
		if w.tat < victim.tat {
			victim = w
		}
	}
	if e == nil {
		*victim = rateEntry{hi: hi, lo: lo, tat: nowNs + l.interval}
		mu.Unlock()
		return verdictAnswer
	}
	if e.tat-nowNs <= l.tolerance {
		e.tat = max(e.tat, nowNs) + l.interval
		mu.Unlock()
		return verdictAnswer
	}
	e.limited++
	v := verdictDrop
	if l.kod && e.limited&l.leakMask == 0 {
		v = verdictKoD
	}
	mu.Unlock()
	return v
}

// memoryBytes is the table's fixed footprint (32 octets an entry on
// 64-bit, 28 on 32-bit arm).
func (l *rateLimiter) memoryBytes() int {
	return len(l.entries) * int(unsafe.Sizeof(rateEntry{}))
}

// since is the limiter's monotonic clock: nanoseconds since start, plus one
// so it is never 0 (0 marks an empty slot).
func since(start time.Time) int64 { return int64(time.Since(start)) + 1 }
