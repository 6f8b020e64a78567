package loadgen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/udpio"
)

func testConfig(f *fakeServer) Config {
	c := DefaultConfig(f.addr())
	c.Rate = 4000
	c.Duration = 500 * time.Millisecond
	c.Drain = 300 * time.Millisecond
	return c
}

func TestRunCountsAnswersKoDAndLoss(t *testing.T) {
	f := startFake(t, 10, 25) // every 10th a RATE KoD, every 25th dropped
	c := testConfig(f)
	c.Batch = 4 // rotate the sockets often: every one must be seen
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	// The plan is 2000 (4000/s for 0.5 s); a starved generator sends less
	// in the time (its last turns are lost), never more.
	if r.Sent > 2000 || r.Sent < 1000 {
		t.Fatalf("sent %d, want 2000 (4000/s for 0.5 s)", r.Sent)
	}
	// The fake drops its k-th request when k%25 == 0 and sends a KoD when
	// k%10 == 0 (unless dropped first).
	n := r.Sent
	dropped, kod := n/25, n/10-n/50
	if r.KoD != kod || r.KoDRate != kod {
		t.Errorf("kod %d (rate %d), want %d", r.KoD, r.KoDRate, kod)
	}
	if r.Answered != n-dropped-kod {
		t.Errorf("answered %d, want %d", r.Answered, n-dropped-kod)
	}
	if want := float64(dropped) / float64(n); r.Loss < want-1e-9 || r.Loss > want+1e-9 {
		t.Errorf("loss %g, want %g", r.Loss, want)
	}
	if r.Unknown != 0 || r.Duplicate != 0 || r.Bad != 0 || r.SendErrors != 0 {
		t.Errorf("unexpected counts: %+v", r)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.P99 > 200*time.Millisecond {
		t.Errorf("latencies p50 %s p99 %s max %s", r.P50, r.P99, r.Max)
	}
	if r.Stratum != 1 || r.RefID != "PPS" {
		t.Errorf("last answer stratum %d refid %q, want 1 PPS", r.Stratum, r.RefID)
	}
	if got := f.ports(); got != c.Sockets {
		t.Errorf("server saw %d source ports, want %d", got, c.Sockets)
	}
}

// TestRunTransmitStampLag: a server whose transmit timestamps are a
// second stale shows a lag of a second (plus the send itself) at every
// quantile, measured on every answer the kernel stamped.
func TestRunTransmitStampLag(t *testing.T) {
	f := startFake(t, 0, 0, func(f *fakeServer) { f.stale = time.Second })
	c := testConfig(f)
	c.Duration = 100 * time.Millisecond
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !kernelRxStamps(t) {
		// qemu-user: no kernel receive stamps, so no lag is claimed.
		if r.LagCount != 0 {
			t.Fatalf("lag measured on %d answers without kernel stamps", r.LagCount)
		}
		return
	}
	if r.Answered == 0 || r.LagCount != r.Answered {
		t.Fatalf("lag measured on %d of %d answers", r.LagCount, r.Answered)
	}
	if r.LagMin < time.Second || r.LagP50 < r.LagMin || r.LagP99 < r.LagP50 || r.LagMax < r.LagP99 || r.LagMax > 2*time.Second {
		t.Errorf("lag min %s p50 %s p99 %s max %s, want all just over 1s", r.LagMin, r.LagP50, r.LagP99, r.LagMax)
	}
	cr, err := Ceiling(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if cr.LagCount != cr.Answered || cr.LagMin < time.Second {
		t.Errorf("closed loop: lag on %d of %d answers, min %s", cr.LagCount, cr.Answered, cr.LagMin)
	}
}

// kernelRxStamps reports whether this kernel gives UDP sockets receive
// timestamps (qemu-user does not).
func kernelRxStamps(t *testing.T) bool {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	_ = rc.Control(func(fd uintptr) { _, serr = udpio.EnableRxTimestamps(int(fd)) })
	return serr == nil
}

func TestRunSourcePorts(t *testing.T) {
	f := startFake(t, 0, 0)
	c := testConfig(f)
	c.Sockets = 4
	c.Batch = 1 // every request on the next socket: any 4 cover the ports
	c.SourcePort = 40000 + int(time.Now().UnixNano()%2000)*4
	c.Duration = 100 * time.Millisecond
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered != r.Sent || r.Sent < 4 || r.Sent > 400 {
		t.Fatalf("sent %d answered %d, want 400 each", r.Sent, r.Answered)
	}
	for i := range 4 {
		if _, ok := f.srcPorts.Load(uint16(c.SourcePort + i)); !ok {
			t.Errorf("no request from source port %d", c.SourcePort+i)
		}
	}
}

func TestRunBadAndLongReplies(t *testing.T) {
	f := startFake(t, 0, 0, func(f *fakeServer) { f.garbage = true })
	c := testConfig(f)
	c.Duration = 100 * time.Millisecond
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered != 0 || r.Bad != r.Sent || r.Loss != 1 {
		t.Fatalf("short replies: answered %d bad %d sent %d loss %g", r.Answered, r.Bad, r.Sent, r.Loss)
	}

	// e.g. an extension or MAC: still an answer
	g := startFake(t, 0, 0, func(f *fakeServer) { f.extra = 20 })
	c = testConfig(g)
	c.Duration = 100 * time.Millisecond
	r, err = Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered != r.Sent || r.Loss != 0 {
		t.Fatalf("long replies: answered %d of %d", r.Answered, r.Sent)
	}
}

func TestRunNobodyListening(t *testing.T) {
	f := startFake(t, 0, 0)
	c := testConfig(f)
	_ = f.conn.Close() // the port is now closed: ICMP port unreachable
	c.Duration = 100 * time.Millisecond
	c.Drain = 50 * time.Millisecond
	start := time.Now()
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered != 0 || r.Loss != 1 {
		t.Fatalf("answered %d loss %g with no server", r.Answered, r.Loss)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("run took %s, bounded by 150 ms", el)
	}
}

func TestRunStopsOnContext(t *testing.T) {
	f := startFake(t, 0, 0)
	c := testConfig(f)
	c.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, c); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("run took %s after its context ended at 200 ms", el)
	}
}

func TestCeiling(t *testing.T) {
	f := startFake(t, 0, 0)
	c := testConfig(f)
	c.Duration = 300 * time.Millisecond
	c.Sockets = 4
	c.Timeout = time.Second // no write-offs: nothing is lost here
	r, err := Ceiling(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != "closed" || r.Answered < 100 || r.AnsPerS <= 0 {
		t.Fatalf("closed loop answered %d (%.0f/s)", r.Answered, r.AnsPerS)
	}
	// At most the window per socket is outstanding when the run stops.
	if out := r.Sent - r.Answered; out > uint64(c.Sockets*c.Window) {
		t.Fatalf("%d requests unanswered, window is %d", out, c.Sockets*c.Window)
	}
}

func TestCeilingWritesOffLosses(t *testing.T) {
	f := startFake(t, 0, 3) // a third of the requests vanish
	c := testConfig(f)
	c.Duration = 300 * time.Millisecond
	c.Sockets = 2
	c.Window = 4
	r, err := Ceiling(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	// Without writing off, each socket would stall after its window was lost.
	if r.Answered < 50 {
		t.Fatalf("closed loop with losses answered only %d", r.Answered)
	}
}

func TestValidateRefusesRemoteTargets(t *testing.T) {
	for _, a := range []string{"10.0.0.1:123", "192.168.1.1:123", "[2001:db8::1]:123", "0.0.0.0:123", "[::]:123", "128.0.0.1:123"} {
		c := DefaultConfig(netip.MustParseAddrPort(a))
		err := c.Validate()
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: Validate() = %v, want ErrNotLoopback", a, err)
		}
		if _, err := Run(context.Background(), c); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: Run = %v, want ErrNotLoopback", a, err)
		}
		if _, err := Ceiling(context.Background(), c); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: Ceiling = %v, want ErrNotLoopback", a, err)
		}
		if _, err := Probe(context.Background(), c.Target, time.Second); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: Probe = %v, want ErrNotLoopback", a, err)
		}
	}
}

func TestValidateBounds(t *testing.T) {
	base := DefaultConfig(netip.MustParseAddrPort("127.0.0.1:123"))
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no sockets":    func(c *Config) { c.Sockets = 0 },
		"port overflow": func(c *Config) { c.SourcePort = 65530 },
		"zero rate":     func(c *Config) { c.Rate = 0 },
		"hour":          func(c *Config) { c.Duration = time.Hour },
		"no count":      func(c *Config) { c.MaxCount = 0 },
		"no window":     func(c *Config) { c.Window = 0 },
		"no batch":      func(c *Config) { c.Batch = 0 },
		"tiny timeout":  func(c *Config) { c.Timeout = time.Microsecond },
	} {
		c := base
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

func TestProbeAndWaitSync(t *testing.T) {
	f := startFake(t, 0, 0)
	f.stratum.Store(16)
	r, err := Probe(context.Background(), f.addr(), time.Second)
	if err != nil || r.Stratum != 16 {
		t.Fatalf("Probe = %+v, %v", r, err)
	}
	if _, err := WaitSync(context.Background(), f.addr(), 15, 1500*time.Millisecond); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("WaitSync on stratum 16 = %v, want ErrNotSynced", err)
	}
	time.AfterFunc(500*time.Millisecond, func() { f.stratum.Store(1) })
	r, err = WaitSync(context.Background(), f.addr(), 15, 5*time.Second)
	if err != nil || r.Stratum != 1 {
		t.Fatalf("WaitSync = %+v, %v", r, err)
	}
}

func TestRunFromAnotherLoopbackSource(t *testing.T) {
	f := startFake(t, 0, 0)
	c := testConfig(f)
	c.Sockets = 2
	c.Source = netip.MustParseAddr("127.0.0.2")
	c.Duration = 50 * time.Millisecond
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Answered == 0 || r.Answered != r.Sent {
		t.Fatalf("from 127.0.0.2: sent %d answered %d", r.Sent, r.Answered)
	}
	for _, bad := range []string{"10.0.0.1", "::1"} {
		c.Source = netip.MustParseAddr(bad)
		if err := c.Validate(); err == nil {
			t.Errorf("source %s accepted for target %s", bad, c.Target)
		}
	}
}
