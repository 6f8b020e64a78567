package loadgen

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:123", true},
		{"127.255.255.254:11123", true},
		{"127.1.2.3:1", true},
		{"[::1]:123", true},
		{"[::ffff:127.0.0.1]:123", true},
		{"126.255.255.255:123", false},
		{"128.0.0.0:123", false},
		{"10.0.0.1:123", false},
		{"0.0.0.0:123", false},
		{"255.255.255.255:123", false},
		{"224.0.1.1:123", false},
		{"[::]:123", false},
		{"[::2]:123", false},
		{"[fe80::1%lo]:123", false},
		{"[::ffff:10.0.0.1]:123", false},
	} {
		err := CheckTarget(netip.MustParseAddrPort(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("CheckTarget(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
	if err := CheckTarget(netip.AddrPort{}); err == nil {
		t.Error("CheckTarget(zero) accepted")
	}
	if err := CheckTarget(netip.MustParseAddrPort("127.0.0.1:0")); err == nil {
		t.Error("CheckTarget accepted port 0")
	}
	for _, s := range []string{"localhost:123", "example.com:123", "127.0.0.1", "8.8.8.8:123"} {
		if _, err := ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q) accepted", s)
		}
	}
	if ap, err := ParseTarget("[::ffff:127.0.0.2]:9"); err != nil || ap != netip.MustParseAddrPort("127.0.0.2:9") {
		t.Errorf("ParseTarget mapped = %v, %v", ap, err)
	}
}

func TestEncodeParse(t *testing.T) {
	b := make([]byte, ntp.HeaderLen)
	for i := range b {
		b[i] = 0xff // EncodeRequest must clear what it does not set
	}
	EncodeRequest(b, 0x0123456789abcdef)
	if b[0] != 0x23 {
		t.Errorf("first byte %#x, want 0x23 (LI 0, VN 4, mode 3)", b[0])
	}
	var req ntp.Header
	if err := ntp.Decode(b, &req); err != nil {
		t.Fatal(err)
	}
	want := ntp.Header{Version: 4, Mode: ntp.ModeClient, PollLog2: 6, PrecisionLog2: -20, TransmitTime: 0x0123456789abcdef}
	if req != want {
		t.Errorf("request\n %+v\nwant\n %+v", req, want)
	}
	var r Response
	if err := ParseResponse(b, &r); !errors.Is(err, ErrNotReply) {
		t.Errorf("parsing a request: %v, want ErrNotReply", err)
	}
	if err := ParseResponse(b[:47], &r); !errors.Is(err, ntp.ErrShort) {
		t.Errorf("parsing 47 bytes: %v, want ErrShort", err)
	}
	reply := make([]byte, ntp.HeaderLen)
	kod := ntp.Header{Leap: 3, Version: 4, Mode: ntp.ModeServer, RefID: ntp.KissRate, OriginTime: 42}
	ntp.Encode(&kod, reply)
	if err := ParseResponse(reply, &r); err != nil {
		t.Fatal(err)
	}
	if !r.KoD() || !r.IsRate() || r.OriginTime != 42 || r.Leap != 3 || r.Version != 4 {
		t.Errorf("parsed %+v", r)
	}
	kod.Stratum = 1
	ntp.Encode(&kod, reply)
	_ = ParseResponse(reply, &r)
	if r.KoD() || r.IsRate() {
		t.Errorf("stratum 1 reply taken for a KoD")
	}
}

func TestMatcher(t *testing.T) {
	m := NewMatcher(0xe0000000, 100)
	m.Sent(7, 10*time.Millisecond)
	m.Sent(8, 11*time.Millisecond)
	m.Sent(9, 12*time.Millisecond)
	m.Unsent(9)
	if lat, res := m.Match(m.Xmt(7), 13*time.Millisecond); res != Matched || lat != 3*time.Millisecond {
		t.Errorf("Match(7) = %s, %v", lat, res)
	}
	if _, res := m.Match(m.Xmt(7), 14*time.Millisecond); res != Duplicate {
		t.Errorf("second Match(7) = %v, want Duplicate", res)
	}
	for name, origin := range map[string]uint64{
		"never sent":   m.Xmt(6),
		"send failed":  m.Xmt(9),
		"out of range": m.Xmt(100),
		"other run":    0xe0000001<<32 | 8,
		"zero":         0,
	} {
		if _, res := m.Match(origin, time.Second); res != Unknown {
			t.Errorf("%s: %v, want Unknown", name, res)
		}
	}
	// Sent at time 0 still matches (0 is not "never sent").
	m.Sent(0, 0)
	if lat, res := m.Match(m.Xmt(0), time.Millisecond); res != Matched || lat != time.Millisecond {
		t.Errorf("Match(0) = %s, %v", lat, res)
	}
	// Transmit timestamps are unique within a run.
	seen := map[uint64]bool{}
	for i := range m.Cap() {
		x := m.Xmt(i)
		if seen[x] {
			t.Fatalf("Xmt(%d) repeats", i)
		}
		seen[x] = true
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Error("empty histogram quantile not 0")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []time.Duration
	for range 100000 {
		// log-uniform from 10 µs to 100 ms, like a latency tail
		v := time.Duration(10e3 * pow10(4*rng.Float64()))
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(q*float64(len(vals))+0.999999999) - 1
		rank = max(rank, 0)
		want := vals[rank]
		got := h.Quantile(q)
		if rel := float64(got-want) / float64(want); rel > 0.01 || rel < -0.01 {
			t.Errorf("q%g = %s, exact %s (%.2f%% off)", q, got, want, 100*rel)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Count() != 100000 {
		t.Errorf("max %s count %d", h.Max(), h.Count())
	}
	// Small values are exact; a merge is the sum.
	var a, b Histogram
	for i := range 100 {
		a.Record(time.Duration(i))
		b.Record(time.Duration(i + 100))
	}
	a.Merge(&b)
	if a.Count() != 200 || a.Quantile(0.5) != 99 || a.Max() != 199 {
		t.Errorf("merged: count %d p50 %s max %s", a.Count(), a.Quantile(0.5), a.Max())
	}
	var n Histogram
	n.Record(-5)
	if n.Quantile(1) != 0 {
		t.Errorf("negative latency recorded as %s", n.Quantile(1))
	}
}

func pow10(x float64) float64 {
	r := 1.0
	for x >= 1 {
		r *= 10
		x--
	}
	// 10^x for x in [0,1) by exp(x ln 10), good enough for test data
	e, term := 1.0, 1.0
	for i := 1; i < 30; i++ {
		term *= x * 2.302585092994046 / float64(i)
		e += term
	}
	return r * e
}

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		i := bucketOf(v)
		if v < bucketLow(i) || v > bucketHigh(i) {
			t.Errorf("%d in bucket %d [%d, %d]", v, i, bucketLow(i), bucketHigh(i))
		}
		if i >= nBuckets {
			t.Errorf("%d: bucket %d >= %d", v, i, nBuckets)
		}
	}
	for i := 1; i < nBuckets; i++ {
		if bucketLow(i) != bucketHigh(i-1)+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, bucketLow(i), bucketHigh(i-1))
		}
	}
}

func TestPlan(t *testing.T) {
	p := Plan{Rate: 1000, Duration: 2 * time.Second, MaxCount: 1 << 20}
	if p.Total() != 2000 {
		t.Errorf("Total %d", p.Total())
	}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{-time.Second, 0}, {0, 1}, {999 * time.Microsecond, 1}, {time.Millisecond, 2}, {time.Second, 1001}, {time.Hour, 2000}} {
		if got := p.Due(tc.at); got != tc.want {
			t.Errorf("Due(%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
	if got := p.NextAt(500); got != 500*time.Millisecond {
		t.Errorf("NextAt(500) = %s", got)
	}
	p.MaxCount = 10
	if p.Total() != 10 || p.Due(time.Second) != 10 {
		t.Errorf("MaxCount not honoured: total %d due %d", p.Total(), p.Due(time.Second))
	}
}

func TestSteps(t *testing.T) {
	s, err := Steps(50000, 400000, 50000, 100)
	if err != nil || !slices.Equal(s, []int{50000, 100000, 150000, 200000, 250000, 300000, 350000, 400000}) {
		t.Errorf("Steps = %v, %v", s, err)
	}
	if s, err := Steps(5, 5, 1, 1); err != nil || !slices.Equal(s, []int{5}) {
		t.Errorf("one step = %v, %v", s, err)
	}
	for _, bad := range [][3]int{{0, 10, 1}, {10, 5, 1}, {1, 10, 0}, {1, 1000, 1}} {
		if _, err := Steps(bad[0], bad[1], bad[2], 100); err == nil {
			t.Errorf("Steps%v accepted", bad)
		}
	}
}

func TestProcParsers(t *testing.T) {
	stat := "1234 (chronyd (x) y) S 1 1234 1234 0 -1 4194560 200 0 0 0 731 269 0 0 20 0 1 0 100 12345678 1300 18446744073709551615\n"
	ticks, err := parseStatCPU(stat)
	if err != nil || ticks != 1000 {
		t.Errorf("parseStatCPU = %d, %v; want 1000", ticks, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1 2"); err == nil {
		t.Error("short stat accepted")
	}
	status := "Name:\tchronyd\nVmPeak:\t   10000 kB\nVmRSS:\t    5324 kB\nThreads:\t1\n"
	rss, err := parseStatusRSS(status)
	if err != nil || rss != 5324 {
		t.Errorf("parseStatusRSS = %d, %v", rss, err)
	}
	if _, err := parseStatusRSS("Name:\tx\n"); err == nil {
		t.Error("status without VmRSS accepted")
	}
	a := ProcSample{At: time.Unix(0, 0), CPU: 0}
	b := ProcSample{At: time.Unix(2, 0), CPU: time.Second}
	if got := CPUShare(a, b); got != 0.5 {
		t.Errorf("CPUShare = %g", got)
	}
	self, err := ReadProc(1)
	if err != nil || self.RSSKiB == 0 {
		t.Errorf("ReadProc(1) = %+v, %v", self, err)
	}
}

func TestRefIDString(t *testing.T) {
	for _, tc := range []struct {
		stratum uint8
		id      [4]byte
		want    string
	}{
		{1, [4]byte{'P', 'P', 'S', 0}, "PPS"},
		{1, [4]byte{'G', 'P', 'S', 0}, "GPS"},
		{0, [4]byte{'R', 'A', 'T', 'E'}, "RATE"},
		{1, [4]byte{127, 127, 1, 1}, "127.127.1.1"}, // chronyd's local reference
		{2, [4]byte{192, 0, 2, 1}, "192.0.2.1"},
		{2, [4]byte{'P', 'P', 'S', 0}, "80.80.83.0"},
	} {
		if got := RefIDString(tc.stratum, tc.id); got != tc.want {
			t.Errorf("RefIDString(%d, %v) = %q, want %q", tc.stratum, tc.id, got, tc.want)
		}
	}
}
