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
	verdictLeak                  // over the limit, answered normally all the same (the leak)
	verdictKoD                   // over the limit for long: send a RATE kiss-o'-death
	verdictDrop                  // over the limit: drop silently
)

// rateWays is the associativity of the tables: a key lives in one of the
// rateWays slots of its set, so memory is fixed and lookups are bounded.
const rateWays = 4

// rateShards is the number of locks of a table; sets are spread over them so
// workers on different CPUs rarely contend.
const rateShards = 64

// rateEntry tracks one client address (or IPv6 prefix) with the generic cell
// rate algorithm: tat is the theoretical arrival time of the next request, in
// nanoseconds of the limiter's monotonic clock. A request is within the limit
// when it comes no more than (burst-1) intervals before tat.
type rateEntry struct {
	hi, lo uint64 // the key: IPv6 address (IPv4 as IPv4-mapped) or masked prefix
	tat    int64  // 0: slot empty
	// overSince is the limiter second (plus one) at which the client's
	// current run over the limit began; 0: it is not over the limit. The
	// run ends when its credit has fully come back.
	overSince uint32
	// kodAt is the limiter second (plus one) of the last kiss-o'-death sent
	// to it; 0: none.
	kodAt uint32
}

// rateShard is one lock of a table with the leak's random state and the
// counters of the requests it decided.
type rateShard struct {
	sync.Mutex
	rng    uint64 // xorshift state for the leak
	leaked uint64 // over-limit requests answered normally
	_      [64 - 24]byte
}

// rateTable is a fixed-size, set-associative hash table of rate entries (no
// maps, nothing grows under a flood). A new key evicts the entry in its set
// with the earliest tat, the one with the most credit left, whose loss
// forgives least.
type rateTable struct {
	seed0, seed1 uint64
	setMask      uint64
	entries      []rateEntry
	shards       [rateShards]rateShard
}

func newRateTable(entries int, seed0, seed1 uint64) *rateTable {
	n := uint64(1) << bits.Len64(uint64(entries-1))
	sets := max(n/rateWays, 1)
	t := &rateTable{seed0: seed0 | 1, seed1: seed1, setMask: sets - 1, entries: make([]rateEntry, sets*rateWays)}
	for i := range t.shards {
		t.shards[i].rng = (seed0 ^ uint64(i)*0x9e3779b97f4a7c15) | 1
	}
	return t
}

// lock locks the shard of key (hi, lo) and returns it with the key's set.
func (t *rateTable) lock(hi, lo uint64) (*rateShard, []rateEntry) {
	h := (hi ^ t.seed1) * t.seed0
	h ^= h >> 29
	h = (h ^ lo) * 0x9e3779b97f4a7c15
	h ^= h >> 32
	set := h & t.setMask
	sh := &t.shards[set%rateShards]
	sh.Lock()
	return sh, t.entries[set*rateWays : set*rateWays+rateWays]
}

// find returns the entry of key in its set (locked by the caller), making
// one with full credit (tat = nowNs) when it is absent.
func find(ways []rateEntry, hi, lo uint64, nowNs int64) *rateEntry {
	victim := &ways[0]
	for i := range ways {
		w := &ways[i]
		if w.tat != 0 && w.hi == hi && w.lo == lo {
			return w
		}
		if w.tat < victim.tat {
			victim = w
		}
	}
	*victim = rateEntry{hi: hi, lo: lo, tat: nowNs}
	return victim
}

// rateLimiter limits each client address (an IPv6 address whole, so the
// hosts of a LAN are not one client) and, for IPv6, each prefix to a
// larger ceiling, so an attacker sweeping the addresses of its /64 gains no
// more than the ceiling. Over the limit, a request is answered normally
// one time in 2^leak at random (a spoofer using a victim's address cannot
// silence it), and a RATE kiss-o'-death goes only to a client over its
// limit without a pause for kodAfter, at most once per kodEvery.
type rateLimiter struct {
	interval   int64 // ns per request at the sustained rate
	tolerance  int64 // (burst-1) * interval
	pInterval  int64 // the same for an IPv6 prefix
	pTolerance int64
	leak       bool
	leakMask   uint64
	kodAfter   uint32 // seconds; 0: never a KoD
	kodEvery   uint32 // seconds
	prefix6    int
	addrs      *rateTable
	prefixes   *rateTable // nil: no prefix ceiling
}

// newRateLimiter returns a limiter for cfg (nil when rate limiting is off),
// with hash seeds so table collisions cannot be planned from outside.
func newRateLimiter(cfg Config, seed0, seed1 uint64) *rateLimiter {
	if cfg.RateInterval <= 0 {
		return nil
	}
	l := &rateLimiter{
		interval:  int64(cfg.RateInterval),
		tolerance: int64(cfg.RateBurst-1) * int64(cfg.RateInterval),
		leak:      cfg.RateLeakLog2 >= 0,
		kodAfter:  uint32((cfg.RateKoDAfter + time.Second - 1) / time.Second),
		kodEvery:  uint32(1) << uint(cfg.kodPollLog2()),
		prefix6:   cfg.RateIPv6PrefixLen,
		addrs:     newRateTable(cfg.RateTableEntries, seed0, seed1),
	}
	if l.leak {
		l.leakMask = 1<<uint(cfg.RateLeakLog2) - 1
	}
	if f := int64(cfg.RatePrefixFactor); cfg.RateIPv6PrefixLen < 128 && f > 0 {
		l.pInterval = max(l.interval/f, 1)
		l.pTolerance = (int64(cfg.RateBurst)*f - 1) * l.pInterval
		l.prefixes = newRateTable(max(cfg.RateTableEntries/4, 16), seed1^0x5bd1e995, seed0)
	}
	return l
}

// key maps an address to its table key (IPv4 as IPv4-mapped IPv6) and
// says whether it is IPv6.
func key(a netip.Addr) (hi, lo uint64, v6 bool) {
	a = a.Unmap()
	b := a.As16()
	if a.Is4() {
		b[10], b[11] = 0xff, 0xff
	}
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), a.Is6()
}

// mask keeps the first p bits of the 128-bit key.
func mask(hi, lo uint64, p int) (uint64, uint64) {
	switch {
	case p <= 64:
		return hi & (^uint64(0) << (64 - p)), 0
	case p < 128:
		return hi, lo & (^uint64(0) << (128 - p))
	}
	return hi, lo
}

// check accounts one request from a at monotonic time nowNs (> 0) and says
// what to do with it.
func (l *rateLimiter) check(a netip.Addr, nowNs int64) verdict {
	hi, lo, v6 := key(a)
	sh, ways := l.addrs.lock(hi, lo)
	defer sh.Unlock()
	e := find(ways, hi, lo, nowNs)
	var p *rateEntry
	if v6 && l.prefixes != nil {
		phi, plo := mask(hi, lo, l.prefix6)
		psh, pways := l.prefixes.lock(phi, plo)
		defer psh.Unlock()
		p = find(pways, phi, plo, nowNs)
	}
	if e.tat <= nowNs {
		e.overSince = 0 // full credit again: any run over the limit is over
	}
	if e.tat-nowNs <= l.tolerance && (p == nil || p.tat-nowNs <= l.pTolerance) {
		e.tat = max(e.tat, nowNs) + l.interval
		if p != nil {
			p.tat = max(p.tat, nowNs) + l.pInterval
		}
		return verdictAnswer
	}
	sec := uint32(nowNs/int64(time.Second)) + 1
	if e.overSince == 0 {
		e.overSince = sec
	}
	if l.kodAfter > 0 && sec-e.overSince >= l.kodAfter && (e.kodAt == 0 || sec-e.kodAt >= l.kodEvery) {
		e.kodAt = sec
		return verdictKoD
	}
	if l.leak {
		x := sh.rng
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sh.rng = x
		if x&l.leakMask == 0 {
			sh.leaked++
			return verdictLeak
		}
	}
	return verdictDrop
}

// leaked returns the over-limit requests answered normally so far.
func (l *rateLimiter) leaked() uint64 {
	var n uint64
	for i := range l.addrs.shards {
		sh := &l.addrs.shards[i]
		sh.Lock()
		n += sh.leaked
		sh.Unlock()
	}
	return n
}

// memoryBytes is the tables' fixed footprint (32 octets an entry on
// 64-bit, 28 on 32-bit arm).
func (l *rateLimiter) memoryBytes() int {
	n := len(l.addrs.entries)
	if l.prefixes != nil {
		n += len(l.prefixes.entries)
	}
	return n * int(unsafe.Sizeof(rateEntry{}))
}

// since is the limiter's monotonic clock: nanoseconds since start, plus one
// so it is never 0 (0 marks an empty slot).
func since(start time.Time) int64 { return int64(time.Since(start)) + 1 }
