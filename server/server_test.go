package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/status"
)

// simClock is a served clock an hour ahead of the system clock, so tests
// see that receive timestamps go through FromSystem.
type simClock struct{ offset time.Duration }

func (c simClock) Now() time.Time                   { return time.Now().Add(c.offset) }
func (c simClock) FromSystem(t time.Time) time.Time { return t.Add(c.offset) }

func testConfig(addrs ...string) Config {
	c := DefaultConfig()
	c.ListenAddrs = addrs
	c.Workers = 1
	c.BatchSize = 8
	c.RateInterval = 0
	return c
}

type running struct {
	s     *Server
	state atomic.Pointer[discipline.SyncState]
}

// startServer serves cfg until the test ends, and checks Serve returns nil.
func startServer(t testing.TB, cfg Config, clock TimeSource, st *discipline.SyncState) *running {
	t.Helper()
	r := &running{}
	r.state.Store(st)
	s, err := New(cfg, clock, r.state.Load, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := clock.Now()
	s.SetSnapshot(func() *status.Snapshot {
		snap := refclockSnapshot(r.state.Load(), clock.Now())
		snap.Uptime, snap.Server = snap.Time.Sub(started), s.StatusCounters()
		return snap
	})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

// stats returns the counters once ok accepts them, or the last read after
// a bounded wait: a reply reaches the client just before the server counts it.
func (r *running) stats(ok func(Stats) bool) Stats {
	var s Stats
	for range 200 {
		if s = r.s.Stats(); ok(s) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

func (r *running) addr(i int) netip.AddrPort { return r.s.Addrs()[i] }

func dial(t testing.TB, ap netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends req and returns the reply, or nil after wait.
func exchange(t testing.TB, c *net.UDPConn, req []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		t.Fatal(err)
	}
	return buf[:n]
}

func TestBeevikClient(t *testing.T) {
	clock := simClock{offset: time.Hour}
	st := syncedState()
	st.RefTime = clock.Now()
	r := startServer(t, testConfig("127.0.0.1:0", "[::1]:0"), clock, st)
	for i, host := range []string{"127.0.0.1", "::1"} {
		resp, err := beevik.QueryWithOptions(host, beevik.QueryOptions{Port: int(r.addr(i).Port()), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", host, err) // beevik checks the origin echo
		}
		if err := resp.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", host, err)
		}
		if resp.Stratum != 1 || resp.ReferenceID != 'P'<<24|'P'<<16|'S'<<8 || resp.Leap != beevik.LeapNoWarning || resp.Version != 4 {
			t.Errorf("%s: stratum %d refid %#x leap %d version %d", host, resp.Stratum, resp.ReferenceID, resp.Leap, resp.Version)
		}
		if p := resp.Precision; p < 953 || p > 954 { // 2^-20 s
			t.Errorf("%s: precision %v", host, resp.Precision)
		}
		// The served clock is an hour ahead; receive stamps come from
		// kernel timestamps mapped through FromSystem, transmit from Now.
		if d := resp.ClockOffset - time.Hour; d < -time.Second || d > time.Second {
			t.Errorf("%s: offset %v, want about 1h", host, resp.ClockOffset)
		}
		if s, x := resp.Timestamps.ServerRecv, resp.Timestamps.ServerXmit; x.Before(s) || x.Sub(s) > time.Second {
			t.Errorf("%s: receive %v transmit %v", host, s, x)
		}
	}
	if s := r.stats(func(s Stats) bool { return s.Answered == 2 }); s.Answered != 2 || s.Received != 2 || s.Dropped() != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestBeevikUnsynchronised(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0"), SystemClock{}, &discipline.SyncState{})
	resp, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: int(r.addr(0).Port()), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Stratum != 16 || resp.Leap != beevik.LeapNotInSync || resp.ReferenceID != 'I'<<24|'N'<<16|'I'<<8|'T' {
		t.Errorf("stratum %d leap %d refid %#x", resp.Stratum, resp.Leap, resp.ReferenceID)
	}
	if resp.Validate() == nil {
		t.Error("an unsynchronised answer validates")
	}
}

func TestRawRequests(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0", "[::1]:0"), SystemClock{}, syncedState())
	for i := range 2 {
		c := dial(t, r.addr(i))
		for _, tc := range []struct {
			name   string
			req    []byte
			answer bool
		}{
			{"ntpdig", ntpcap.Ntpdig, true},
			{"chrony", ntpcap.Chrony, true},
			{"ntpd", ntpcap.Ntpd, true},
			{"v3", ntpcap.V3, true},
			{"v1", ntpcap.V1, true},
			{"mac", ntpcap.MAC, true},
			{"nts", ntpcap.NTS, true},
			{"monlist", ntpcap.Monlist, false},
			{"short", ntpcap.Ntpd[:40], false},
			{"symmetric", func() []byte { b := append([]byte{}, ntpcap.Ntpd...); b[0] = 0x21; return b }(), false},
			{"v5", func() []byte { b := append([]byte{}, ntpcap.Ntpd...); b[0] = 0x2b; return b }(), false},
		} {
			wait := 5 * time.Second
			if !tc.answer {
				wait = 50 * time.Millisecond // only bounds the wait; the stats below are the check
			}
			reply := exchange(t, c, tc.req, wait)
			if !tc.answer {
				if reply != nil {
					t.Errorf("%s: answered %x", tc.name, reply)
				}
				continue
			}
			if len(reply) != ntp.HeaderLen || len(reply) > len(tc.req) {
				t.Errorf("%s: reply of %d octets to %d", tc.name, len(reply), len(tc.req))
				continue
			}
			var h ntp.Header
			_ = ntp.Decode(reply, &h)
			if uint64(h.OriginTime) != binary.BigEndian.Uint64(tc.req[40:48]) {
				t.Errorf("%s: origin %#x not the request's transmit", tc.name, uint64(h.OriginTime))
			}
			if h.Version != (tc.req[0]>>3)&7 || h.Mode != ntp.ModeServer || h.Stratum != 1 {
				t.Errorf("%s: reply %+v", tc.name, h)
			}
		}
	}
	// Drops are counted by reason once the server has read them; a final
	// answered request on each socket orders it after them.
	for i := range 2 {
		if exchange(t, dial(t, r.addr(i)), ntpcap.Ntpdig, 5*time.Second) == nil {
			t.Fatal("no answer")
		}
	}
	s := r.stats(func(s Stats) bool { return s.Answered == 16 })
	if s.Drops[DropModePrivate] != 2 || s.Drops[DropShort] != 2 || s.Drops[DropMode] != 2 || s.Drops[DropVersion] != 2 || s.Answered != 16 {
		t.Errorf("stats %+v", s)
	}
}

func TestRateLimitOverLoopback(t *testing.T) {
	cfg := testConfig("127.0.0.1:0")
	cfg.RateInterval, cfg.RateBurst, cfg.RateLeakLog2, cfg.RateKoDAfter = time.Hour, 4, -1, time.Second
	r := startServer(t, cfg, SystemClock{}, syncedState())
	c := dial(t, r.addr(0))
	// kind is the reply: 'A' answered, 'K' RATE kiss-o'-death, '-' none.
	kind := func(c *net.UDPConn, wait time.Duration) byte {
		reply := exchange(t, c, ntpcap.Ntpdig, wait)
		if reply == nil {
			return '-'
		}
		var h ntp.Header
		_ = ntp.Decode(reply, &h)
		switch {
		case h.Stratum == 1:
			return 'A'
		case h.Stratum == 0 && string(h.RefID[:]) == "RATE":
			if h.PollLog2 < 12 { // an hour's interval asks for poll 2^12 s
				t.Errorf("KoD poll %d", h.PollLog2)
			}
			if uint64(h.OriginTime) != binary.BigEndian.Uint64(ntpcap.Ntpdig[40:]) {
				t.Error("KoD origin is not the request's transmit")
			}
			return 'K'
		}
		t.Errorf("unexpected reply %+v", h)
		return '?'
	}
	var got []byte
	for range 4 {
		got = append(got, kind(c, 5*time.Second))
	}
	// The burst of 4, then silence: no KoD at the start of a run over the
	// limit.
	for range 4 {
		got = append(got, kind(c, 200*time.Millisecond))
	}
	time.Sleep(1100 * time.Millisecond)
	// Over the limit for a second: one KoD, then silence again (at most
	// one per KoD poll interval).
	got = append(got, kind(c, 5*time.Second), kind(c, 200*time.Millisecond))
	if string(got) != "AAAA----K-" {
		t.Errorf("replies %s, want AAAA----K-", got)
	}
	s := r.stats(func(s Stats) bool { return s.KoD == 1 })
	if s.Answered != 4 || s.KoD != 1 || s.Drops[DropRateLimit] != 5 || s.Leaked != 0 {
		t.Errorf("stats %+v", s)
	}
	// Another loopback address is another client: answered at once.
	other, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(r.addr(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if k := kind(other, 5*time.Second); k != 'A' {
		t.Errorf("client 127.0.0.2 got %c", k)
	}
	// A new source port on the limited address is still the same client.
	if k := kind(dial(t, r.addr(0)), 200*time.Millisecond); k != '-' {
		t.Errorf("limited address from a new port got %c", k)
	}
}

func TestWorkersShareAPort(t *testing.T) {
	cfg := testConfig("127.0.0.1:0")
	cfg.Workers = 3
	r := startServer(t, cfg, SystemClock{}, syncedState())
	if len(r.s.Addrs()) != 1 {
		t.Fatalf("addrs %v", r.s.Addrs())
	}
	// Distinct source ports spread over the SO_REUSEPORT group.
	for range 12 {
		if exchange(t, dial(t, r.addr(0)), ntpcap.Chrony, 5*time.Second) == nil {
			t.Fatal("no answer")
		}
	}
	if s := r.stats(func(s Stats) bool { return s.Answered == 12 }); s.Answered != 12 {
		t.Errorf("stats %+v", s)
	}
}

func TestServeErrors(t *testing.T) {
	if _, err := New(Config{}, SystemClock{}, func() *discipline.SyncState { return nil }, nil); err == nil {
		t.Error("New accepted an empty config")
	}
	if _, err := New(testConfig("127.0.0.1:0"), nil, func() *discipline.SyncState { return nil }, nil); err == nil {
		t.Error("New accepted a nil clock")
	}
	s, err := New(testConfig("127.0.0.1:0"), SystemClock{}, func() *discipline.SyncState { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil {
		t.Error("second Listen succeeded")
	}
	// A second server on the same port without SO_REUSEPORT fails to bind.
	ln, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err == nil {
		ln.Close()
		t.Error("plain bind on a SO_REUSEPORT port succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Serve with a cancelled context returns nil at once.
	s2, _ := New(testConfig("127.0.0.1:0"), SystemClock{}, func() *discipline.SyncState { return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s2.Serve(ctx); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := s2.Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Serve: %v", err)
	}
	// Close while serving makes Serve return nil.
	s4, _ := New(testConfig("127.0.0.1:0"), SystemClock{}, func() *discipline.SyncState { return nil }, nil)
	if err := s4.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s4.Serve(context.Background()) }()
	if exchange(t, dial(t, s4.Addrs()[0]), ntpcap.Chrony, 5*time.Second) == nil {
		t.Fatal("no answer")
	}
	s4.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	// An address that is not ours cannot be bound.
	s3, _ := New(testConfig("192.0.2.1:0"), SystemClock{}, func() *discipline.SyncState { return nil }, nil)
	if err := s3.Listen(); err == nil {
		s3.Close()
		t.Error("bound 192.0.2.1")
	}
}

func TestControlAllowed(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		known    bool
		want     bool
	}{
		{"127.0.0.1", "127.0.0.1", true, true},
		{"127.1.2.3", "127.0.0.1", true, true},
		{"::1", "::1", true, true},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1", true, true},
		{"127.0.0.1", "", false, true},
		{"127.0.0.1", "192.0.2.1", true, false}, // spoofed loopback source to a public address
		{"192.0.2.1", "127.0.0.1", true, false},
		{"192.0.2.1", "192.0.2.2", true, false},
		{"10.0.0.1", "", false, false},
		{"::2", "::1", true, false},
		{"fe80::1", "fe80::2", true, false},
		{"2001:db8::1", "", false, false},
		{"::ffff:192.0.2.1", "", false, false},
	} {
		src := netip.MustParseAddr(tc.src)
		var dst netip.Addr
		if tc.dst != "" {
			dst = netip.MustParseAddr(tc.dst)
		}
		if got := controlAllowed(src, dst, tc.known); got != tc.want {
			t.Errorf("%s -> %s: %v, want %v", tc.src, tc.dst, got, tc.want)
		}
	}
}

// BenchmarkServeLoopback is one request and its reply over a loopback
// socket at a time: the latency path, and the proof of 0 allocations per
// answered request (client and server both run in this process).
func BenchmarkServeLoopback(b *testing.B) {
	r := startServer(b, testConfig("127.0.0.1:0"), SystemClock{}, syncedState())
	c := dial(b, r.addr(0))
	buf := make([]byte, 128)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(ntpcap.Chrony); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeLoopbackPipelined keeps 32 requests in flight from one
// socket so the server reads and answers in batches.
func BenchmarkServeLoopbackPipelined(b *testing.B) {
	cfg := testConfig("127.0.0.1:0")
	cfg.BatchSize = 32
	r := startServer(b, cfg, SystemClock{}, syncedState())
	c := dial(b, r.addr(0))
	buf := make([]byte, 128)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	const window = 32
	b.ReportAllocs()
	inflight := 0
	for b.Loop() {
		if _, err := c.Write(ntpcap.Chrony); err != nil {
			b.Fatal(err)
		}
		inflight++
		if inflight == window {
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
			inflight--
		}
	}
	for ; inflight > 0; inflight-- {
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestProcess(t *testing.T) {
	cfg := testConfig("127.0.0.1:0")
	cfg.RateInterval, cfg.RateBurst, cfg.RateLeakLog2 = time.Second, 1, 0
	s, err := New(cfg, SystemClock{}, syncedState, nil)
	if err != nil {
		t.Fatal(err)
	}
	lo, pub := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1")
	lo6 := netip.IPv6Loopback()
	out := make([]byte, ntp.HeaderLen)
	for _, tc := range []struct {
		name     string
		req      []byte
		src, dst netip.Addr
		act      action
		why      DropReason
	}{
		{"client", ntpcap.Ntpdig, pub, pub, actAnswer, DropNone},
		{"client again: over the limit, leaked (burst 1, leak 0)", ntpcap.Ntpdig, pub, pub, actAnswer, DropNone},
		{"other client", ntpcap.Ntpd, netip.MustParseAddr("192.0.2.2"), pub, actAnswer, DropNone},
		{"mode 6 from loopback", ntpcap.NtpqRV, lo, lo, actControl, DropNone},
		{"mode 6 from ::1", ntpcap.NtpqRV, lo6, lo6, actControl, DropNone},
		{"mode 6 from outside", ntpcap.NtpqRV, pub, pub, actDrop, DropControlRemote},
		{"mode 6 spoofing loopback to a public address", ntpcap.NtpqRV, lo, pub, actDrop, DropControlRemote},
		{"mode 7", ntpcap.Monlist, lo, lo, actDrop, DropModePrivate},
		{"short", ntpcap.Ntpd[:20], pub, pub, actDrop, DropShort},
	} {
		act, why := s.process(tc.req, tc.src, tc.dst, true, testRx, 1000, syncedState(), out)
		if act != tc.act || why != tc.why {
			t.Errorf("%s: %v %v, want %v %v", tc.name, act, why, tc.act, tc.why)
		}
	}
}

// TestSecondInstanceRefused: a second server on an address a first one
// serves (its workers in an SO_REUSEPORT group) is refused with
// ErrAddrInUse naming the holder, instead of silently taking half the
// queries; a different port is fine.
func TestSecondInstanceRefused(t *testing.T) {
	cfg := testConfig("127.0.0.1:0")
	r := startServer(t, cfg, SystemClock{}, syncedState())
	cfg2 := testConfig(r.addr(0).String())
	s2, err := New(cfg2, SystemClock{}, syncedState, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s2.Listen()
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("second Listen on %s: %v, want ErrAddrInUse", r.addr(0), err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Errorf("error does not name the holder: %v", err)
	}
	// The first still answers every query.
	for range 8 {
		if exchange(t, dial(t, r.addr(0)), ntpcap.Ntpdig, 5*time.Second) == nil {
			t.Fatal("first instance stopped answering")
		}
	}
}
