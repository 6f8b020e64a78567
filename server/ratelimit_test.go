package server

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

func testLimiter(t *testing.T, mod func(*Config)) *rateLimiter {
	t.Helper()
	c := DefaultConfig()
	c.RateInterval, c.RateBurst, c.RateLeakLog2, c.RateTableEntries = time.Second, 8, 2, 1024
	if mod != nil {
		mod(&c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return newRateLimiter(c, 0x1234567, 0x89abcdef)
}

func TestRateEntrySize(t *testing.T) {
	if s := unsafe.Sizeof(rateEntry{}); s > 32 {
		t.Fatalf("rateEntry is %d bytes", s)
	}
}

func TestRateLimitFloodFromOneAddress(t *testing.T) {
	l := testLimiter(t, nil)
	a := netip.MustParseAddr("192.0.2.7")
	now := int64(1e12)
	count := map[verdict]int{}
	for range 1000 {
		count[l.check(a, now)]++
	}
	// Burst 8 answered; of the other 992 about one in four leaks (answered
	// normally), no KoD at the start of a flood, the rest dropped.
	if count[verdictAnswer] != 8 || count[verdictKoD] != 0 || count[verdictLeak] < 992/4-50 || count[verdictLeak] > 992/4+50 ||
		count[verdictDrop] != 992-count[verdictLeak] {
		t.Fatalf("flood at one instant: %v", count)
	}
	if got := l.leaked(); got != uint64(count[verdictLeak]) {
		t.Errorf("leaked() = %d, want %d", got, count[verdictLeak])
	}
	// One interval later exactly one more request is within the limit.
	now += int64(time.Second)
	if v := l.check(a, now); v != verdictAnswer {
		t.Fatalf("after one interval: %v", v)
	}
	if v := l.check(a, now); v == verdictAnswer {
		t.Fatal("second request after one interval answered")
	}
	// Another address is unaffected.
	if v := l.check(netip.MustParseAddr("192.0.2.8"), now); v != verdictAnswer {
		t.Fatalf("other address: %v", v)
	}
	// A client at the sustained rate is always answered.
	b := netip.MustParseAddr("2001:db8::1")
	for i := range 100 {
		if v := l.check(b, now+int64(i)*int64(time.Second)); v != verdictAnswer {
			t.Fatalf("steady client limited at request %d", i)
		}
	}
}

func TestRateLimitLeakOff(t *testing.T) {
	for _, tc := range []struct {
		leak     int
		min, max int
	}{{-1, 0, 0}, {0, 92, 92}, {1, 30, 62}, {4, 1, 14}} {
		l := testLimiter(t, func(c *Config) { c.RateLeakLog2 = tc.leak })
		leaked := 0
		for range 100 {
			if l.check(netip.MustParseAddr("198.51.100.1"), 5) == verdictLeak {
				leaked++
			}
		}
		if leaked < tc.min || leaked > tc.max {
			t.Errorf("leak %d: %d leaked, want %d..%d", tc.leak, leaked, tc.min, tc.max)
		}
	}
}

func TestRateLimitIPv6Prefix(t *testing.T) {
	l := testLimiter(t, func(c *Config) { c.RateBurst, c.RatePrefixFactor = 1, 2 })
	if l.check(netip.MustParseAddr("2001:db8:1:2::1"), 5) != verdictAnswer {
		t.Fatal("first request limited")
	}
	if l.check(netip.MustParseAddr("2001:db8:1:2::1"), 5) == verdictAnswer {
		t.Fatal("same address not limited")
	}
	// Same /64, other host: its own limit, within the /64's ceiling of 2.
	if l.check(netip.MustParseAddr("2001:db8:1:2:ffff::9"), 5) != verdictAnswer {
		t.Fatal("other host of the /64 limited")
	}
	// A third host of the /64 is over the prefix ceiling.
	if l.check(netip.MustParseAddr("2001:db8:1:2:ffff::10"), 5) == verdictAnswer {
		t.Fatal("/64 ceiling not applied")
	}
	// Next /64: its own ceiling.
	if l.check(netip.MustParseAddr("2001:db8:1:3::1"), 5) != verdictAnswer {
		t.Fatal("other /64 limited")
	}
	// IPv4 and its IPv4-mapped form are one client.
	if l.check(netip.MustParseAddr("203.0.113.5"), 5) != verdictAnswer || l.check(netip.MustParseAddr("::ffff:203.0.113.5"), 5) == verdictAnswer {
		t.Fatal("IPv4-mapped address not the same client")
	}
}

func TestRateLimitBoundedMemory(t *testing.T) {
	l := testLimiter(t, nil)
	before := l.memoryBytes()
	if before != (1024+256)*int(unsafe.Sizeof(rateEntry{})) || before > 40<<10 {
		t.Fatalf("table of %d bytes", before)
	}
	// 200 000 distinct addresses, each sending twice: every first request is
	// answered (a new address always gets a slot), the table does not grow.
	answered := 0
	for i := range uint32(200000) {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if l.check(a, int64(i)+1) == verdictAnswer {
			answered++
		}
	}
	if answered != 200000 || l.memoryBytes() != before || cap(l.addrs.entries) != 1024 {
		t.Fatalf("answered %d, table %d bytes (was %d), cap %d", answered, l.memoryBytes(), before, cap(l.addrs.entries))
	}
	// A flooder in the middle of the address flood stays limited: its entry
	// has the latest tat in its set, so it is the last to be evicted.
	flooder := netip.MustParseAddr("192.0.2.99")
	limited := 0
	for i := range 20000 {
		if i%10 == 0 {
			if l.check(flooder, 300000) != verdictAnswer {
				limited++
			}
			continue
		}
		a := netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)})
		l.check(a, 300000)
	}
	if limited < 2000-8-10 {
		t.Fatalf("flooder limited only %d times of 2000", limited)
	}
}

func TestRateLimitNoAllocs(t *testing.T) {
	l := testLimiter(t, nil)
	a := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { l.check(a, 7) }); n != 0 {
		t.Fatalf("%v allocs per check", n)
	}
}

func BenchmarkRateLimit(b *testing.B) {
	c := DefaultConfig()
	l := newRateLimiter(c, 1, 2)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		i++
		l.check(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), int64(i))
	}
}
