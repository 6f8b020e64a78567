package server

import (
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// The scenarios below run the default limiter in virtual time: a request
// is (nanoseconds since start, source address).

type rateReq struct {
	at  int64
	src netip.Addr
	tag int // which party sent it
}

// runRate feeds reqs, sorted by time, to a default limiter and counts the
// verdicts per tag.
func runRate(t *testing.T, mod func(*Config), reqs []rateReq) map[int]map[verdict]int {
	t.Helper()
	c := DefaultConfig()
	if mod != nil {
		mod(&c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l := newRateLimiter(c, 0x5eed1, 0x5eed2)
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].at < reqs[j].at })
	out := map[int]map[verdict]int{}
	for _, r := range reqs {
		if out[r.tag] == nil {
			out[r.tag] = map[verdict]int{}
		}
		out[r.tag][l.check(r.src, r.at+1)]++
	}
	return out
}

const (
	tagVictim = iota
	tagSpoofer
	tagHost
	tagMonitor
	tagFlood
)

// TestRateSpoofedVictimStillAnswered: a spoofer sends 50 packets a second
// for an hour with a victim's address; the victim, polling every 64 s, is
// still answered normally, not only kissed (which real clients obey).
func TestRateSpoofedVictimStillAnswered(t *testing.T) {
	victim := netip.MustParseAddr("198.51.100.20")
	var reqs []rateReq
	for i := range int64(3600 * 50) {
		reqs = append(reqs, rateReq{at: i * int64(20*time.Millisecond), src: victim, tag: tagSpoofer})
	}
	polls := 0
	for at := int64(370 * time.Millisecond); at < int64(time.Hour); at += int64(64 * time.Second) {
		reqs = append(reqs, rateReq{at: at, src: victim, tag: tagVictim})
		polls++
	}
	got := runRate(t, nil, reqs)
	v := got[tagVictim]
	normal := v[verdictAnswer] + v[verdictLeak]
	if normal < polls/6 {
		t.Errorf("victim answered normally %d of %d polls (%v), want at least a sixth", normal, polls, v)
	}
	if v[verdictKoD] > 1 {
		t.Errorf("victim kissed %d times of %d polls", v[verdictKoD], polls)
	}
	// The spoofed flood itself is mostly not answered: no reflection.
	s := got[tagSpoofer]
	if n := s[verdictAnswer] + s[verdictLeak] + s[verdictKoD]; n > 3600*50/3 {
		t.Errorf("spoofed flood of %d answered %d times (%v)", 3600*50, n, s)
	}
	t.Logf("victim %v of %d polls; spoofed flood %v", v, polls, s)
}

// TestRateKoDOnlyForSustainedAbuse: a burst far over the limit gets no
// kiss-o'-death, only a flood lasting past RateKoDAfter does, and then at
// most one per KoD poll interval.
func TestRateKoDOnlyForSustainedAbuse(t *testing.T) {
	cfg := DefaultConfig()
	bursty := netip.MustParseAddr("192.0.2.1")
	flooder := netip.MustParseAddr("192.0.2.2")
	var reqs []rateReq
	// 200 requests in 2 s, five times, a minute apart.
	for k := range int64(5) {
		for i := range int64(200) {
			reqs = append(reqs, rateReq{at: k*int64(time.Minute) + i*int64(10*time.Millisecond), src: bursty, tag: tagHost})
		}
	}
	// 20 requests a second for 120 s.
	for i := range int64(120 * 20) {
		reqs = append(reqs, rateReq{at: i * int64(50*time.Millisecond), src: flooder, tag: tagFlood})
	}
	got := runRate(t, nil, reqs)
	if n := got[tagHost][verdictKoD]; n != 0 {
		t.Errorf("short bursts got %d KoD (%v)", n, got[tagHost])
	}
	kodEvery := time.Duration(1<<cfg.kodPollLog2()) * time.Second
	max := int((120*time.Second-cfg.RateKoDAfter)/kodEvery) + 1
	if n := got[tagFlood][verdictKoD]; n < 1 || n > max {
		t.Errorf("a 120 s flood got %d KoD, want 1..%d (%v)", n, max, got[tagFlood])
	}
}

// pollers returns n clients polling every poll for d, each from addr(i)
// at a random phase (fixed seed), with a little jitter on every poll.
func pollers(n int, poll, d time.Duration, addr func(i int) netip.Addr, seed uint64) []rateReq {
	rng := rand.New(rand.NewPCG(seed, seed))
	var reqs []rateReq
	for i := range n {
		a := addr(i)
		for at := rng.Int64N(int64(poll)); at < int64(d); at += int64(poll) {
			j := rng.Int64N(int64(100 * time.Millisecond))
			reqs = append(reqs, rateReq{at: at + j, src: a, tag: tagHost})
		}
	}
	return reqs
}

// TestRateLANAndNATUnharmed: 50 hosts polling every 64 s, behind one IPv4
// NAT address or in one IPv6 /64, are all answered for an hour.
func TestRateLANAndNATUnharmed(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr func(i int) netip.Addr
	}{
		{"IPv4 NAT", func(int) netip.Addr { return netip.MustParseAddr("203.0.113.9") }},
		{"IPv6 /64", func(i int) netip.Addr {
			b := netip.MustParseAddr("2001:db8:42:7::").As16()
			b[14], b[15] = byte(i>>8), byte(i)+1
			return netip.AddrFrom16(b)
		}},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			reqs := pollers(50, 64*time.Second, time.Hour, tc.addr, seed)
			got := runRate(t, nil, reqs)[tagHost]
			if got[verdictAnswer] != len(reqs) {
				t.Errorf("%s seed %d: %v of %d polls", tc.name, seed, got, len(reqs))
			}
		}
	}
}

// TestRatePoolMonitorAnswered: a pool monitor's three probes 2 s apart,
// every 5 minutes, are always answered while the server is flooded from
// 300 000 other addresses, by one address and by a sweep of another /64.
func TestRatePoolMonitorAnswered(t *testing.T) {
	monitor := netip.MustParseAddr("2001:db8:99::123")
	var reqs []rateReq
	probes := 0
	for at := int64(time.Second); at < int64(time.Hour); at += int64(5 * time.Minute) {
		for k := range int64(3) {
			reqs = append(reqs, rateReq{at: at + k*int64(2*time.Second), src: monitor, tag: tagMonitor})
			probes++
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 300000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		reqs = append(reqs, rateReq{at: rng.Int64N(int64(time.Hour)), src: a, tag: tagFlood})
	}
	one := netip.MustParseAddr("192.0.2.66")
	sweep := netip.MustParseAddr("2001:db8:66:1::").As16()
	for i := range int64(3600 * 20) {
		reqs = append(reqs, rateReq{at: i * int64(50*time.Millisecond), src: one, tag: tagFlood})
		b := sweep
		b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		reqs = append(reqs, rateReq{at: i * int64(50*time.Millisecond), src: netip.AddrFrom16(b), tag: tagSpoofer})
	}
	got := runRate(t, nil, reqs)
	if m := got[tagMonitor]; m[verdictAnswer] != probes {
		t.Errorf("monitor: %v of %d probes", m, probes)
	}
}

// TestRateIPv6SweepCapped: a sweep of one /64's addresses at 1000 a second
// is held to the /64 ceiling of RatePrefixFactor addresses' rate.
func TestRateIPv6SweepCapped(t *testing.T) {
	cfg := DefaultConfig()
	sweep := netip.MustParseAddr("2001:db8:66:1::").As16()
	var reqs []rateReq
	const secs = 60
	for i := range int64(secs * 1000) {
		b := sweep
		b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		reqs = append(reqs, rateReq{at: i * int64(time.Millisecond), src: netip.AddrFrom16(b), tag: tagSpoofer})
	}
	got := runRate(t, nil, reqs)[tagSpoofer]
	ceiling := cfg.RateBurst*cfg.RatePrefixFactor + int(secs*time.Second/(cfg.RateInterval/time.Duration(cfg.RatePrefixFactor)))
	if got[verdictAnswer] > ceiling+1 || got[verdictAnswer] < ceiling/2 {
		t.Errorf("sweep answered %d (%v), ceiling %d", got[verdictAnswer], got, ceiling)
	}
}
