package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

var (
	testRef = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	testRx  = testRef.Add(100*time.Second + 123456789)
	testTx  = testRx.Add(20 * time.Microsecond)
)

func syncedState() *discipline.SyncState {
	return &discipline.SyncState{
		Synced: true, Leap: ntp.LeapNone, Stratum: 1, RefID: ntp.RefIDPPS, PeerKind: source.KindPPS,
		RefTime: testRef, RootDelay: 0, RootDispersion: 10 * time.Microsecond,
		DispersionRate: 15e-6, PrecisionLog2: -20,
	}
}

func respond(t *testing.T, req []byte, st *discipline.SyncState) ntp.Header {
	t.Helper()
	out := make([]byte, 64)
	n, why := Respond(req, testRx, testTx, st, out)
	if n != ntp.HeaderLen || why != DropNone {
		t.Fatalf("Respond = %d, %v", n, why)
	}
	var h ntp.Header
	if err := ntp.Decode(out[:n], &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRespondSyncedFields(t *testing.T) {
	st := syncedState()
	st.RootDelay = 3 * time.Millisecond
	h := respond(t, ntpcap.NtpdSynced, st)
	// Root dispersion: 10 µs + 15e-6 * 100.123476789 s = 1.511852 ms.
	wantDisp := ntp.ShortFromDuration(10*time.Microsecond + time.Duration(15e-6*float64(testTx.Sub(testRef))))
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"leap", h.Leap, uint8(0)},
		{"version", h.Version, uint8(4)},
		{"mode", h.Mode, uint8(ntp.ModeServer)},
		{"stratum", h.Stratum, uint8(1)},
		{"poll (copied)", h.PollLog2, int8(6)},
		{"precision", h.PrecisionLog2, int8(-20)},
		{"root delay", h.RootDelay, ntp.ShortFromDuration(3 * time.Millisecond)},
		{"root dispersion", h.RootDispersion, wantDisp},
		{"refid", string(h.RefID[:]), "PPS\x00"},
		{"reference time", h.RefTime, ntp.FromTime(testRef)},
		{"origin (client transmit verbatim)", h.OriginTime, ntp.Time(0xecd8a4b2c6a7ef9e)},
		{"receive", h.ReceiveTime, ntp.FromTime(testRx)},
		{"transmit", h.TransmitTime, ntp.FromTime(testTx)},
		{"trailer", h.TrailerKind, ntp.TrailerNone},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if d := h.RootDispersion.Duration(); d < 1511*time.Microsecond || d > 1528*time.Microsecond {
		t.Errorf("root dispersion %v, want 1.512 ms rounded up to 1/65536 s", d)
	}
}

func TestRespondStateVariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*discipline.SyncState) *discipline.SyncState
		leap    uint8
		stratum uint8
		refid   string
	}{
		{"pps", func(s *discipline.SyncState) *discipline.SyncState { return s }, 0, 1, "PPS\x00"},
		{"gps", func(s *discipline.SyncState) *discipline.SyncState { s.RefID = ntp.RefIDGPS; return s }, 0, 1, "GPS\x00"},
		{"leap insert", func(s *discipline.SyncState) *discipline.SyncState { s.Leap = ntp.LeapInsert; return s }, 1, 1, "PPS\x00"},
		{"leap delete", func(s *discipline.SyncState) *discipline.SyncState { s.Leap = ntp.LeapDelete; return s }, 2, 1, "PPS\x00"},
		{"synced stratum 0 served as 1", func(s *discipline.SyncState) *discipline.SyncState { s.Stratum = 0; return s }, 0, 1, "PPS\x00"},
		{"not synced", func(s *discipline.SyncState) *discipline.SyncState { s.Synced = false; s.Leap = 0; return s }, 3, 16, "INIT"},
		{"nil state", func(*discipline.SyncState) *discipline.SyncState { return nil }, 3, 16, "INIT"},
		{"zero state", func(*discipline.SyncState) *discipline.SyncState { return &discipline.SyncState{} }, 3, 16, "INIT"},
	} {
		h := respond(t, ntpcap.Chrony, tc.mod(syncedState()))
		if h.Leap != tc.leap || h.Stratum != tc.stratum || string(h.RefID[:]) != tc.refid {
			t.Errorf("%s: leap %d stratum %d refid %q, want %d %d %q", tc.name, h.Leap, h.Stratum, h.RefID[:], tc.leap, tc.stratum, tc.refid)
		}
		if h.OriginTime != 0x538c1a8cace5faac {
			t.Errorf("%s: origin %#x", tc.name, uint64(h.OriginTime))
		}
	}
	// Before any update the dispersion is MAXDISP and the reference time 0.
	h := respond(t, ntpcap.Chrony, nil)
	if h.RootDispersion.Duration() != 16*time.Second || h.RefTime != 0 {
		t.Errorf("unsynced: root dispersion %v reftime %#x", h.RootDispersion.Duration(), uint64(h.RefTime))
	}
	// Clock stepped back before RefTime: no negative growth.
	st := syncedState()
	st.RefTime = testTx.Add(time.Hour)
	if h := respond(t, ntpcap.Chrony, st); h.RootDispersion != ntp.ShortFromDuration(10*time.Microsecond) {
		t.Errorf("reftime in the future: root dispersion %v", h.RootDispersion.Duration())
	}
}

func TestRespondVersionsAndModes(t *testing.T) {
	req := func(lvm byte) []byte {
		b := append([]byte{}, ntpcap.Ntpdig...)
		b[0] = lvm
		return b
	}
	for _, tc := range []struct {
		name    string
		req     []byte
		why     DropReason
		version uint8
	}{
		{"v4 client", req(0x23), DropNone, 4},
		{"v3 client", ntpcap.V3, DropNone, 3},
		{"v2 client", req(0x13), DropNone, 2},
		{"v1 client mode 3", req(0x0b), DropNone, 1},
		{"v1 mode 0", ntpcap.V1, DropNone, 1},
		{"v4 mode 0", req(0x20), DropMode, 0},
		{"v0", req(0x03), DropVersion, 0},
		{"v5", req(0x2b), DropVersion, 0},
		{"v7", req(0x3b), DropVersion, 0},
		{"symmetric active", req(0x21), DropMode, 0},
		{"symmetric passive", req(0x22), DropMode, 0},
		{"server reply", req(0x24), DropMode, 0},
		{"broadcast", req(0x25), DropMode, 0},
		{"control", ntpcap.NtpqRV, DropControlRemote, 0},
		{"control 48 octets", req(0x26), DropControlRemote, 0},
		{"monlist", ntpcap.Monlist, DropModePrivate, 0},
		{"short", ntpcap.Ntpdig[:47], DropShort, 0},
		{"malformed trailer", append(append([]byte{}, ntpcap.Ntpdig...), 1), DropMalformed, 0},
		{"mac", ntpcap.MAC, DropNone, 4},
		{"nts", ntpcap.NTS, DropNone, 4},
	} {
		out := make([]byte, ntp.HeaderLen)
		n, why := Respond(tc.req, testRx, testTx, syncedState(), out)
		if why != tc.why || (why == DropNone) != (n == ntp.HeaderLen) || (why != DropNone && n != 0) {
			t.Errorf("%s: n %d why %v, want %v", tc.name, n, why, tc.why)
			continue
		}
		if n > len(tc.req) {
			t.Errorf("%s: reply of %d octets to a request of %d", tc.name, n, len(tc.req))
		}
		if n > 0 && (out[0]>>3&7 != tc.version || out[0]&7 != ntp.ModeServer) {
			t.Errorf("%s: reply version %d mode %d", tc.name, out[0]>>3&7, out[0]&7)
		}
	}
}

func TestRespondPollClamped(t *testing.T) {
	b := append([]byte{}, ntpcap.Ntpdig...)
	b[2] = 30
	if h := respond(t, b, syncedState()); h.PollLog2 != maxPollLog2 {
		t.Fatalf("poll %d", h.PollLog2)
	}
}

func TestRespondRateKoD(t *testing.T) {
	for _, tc := range []struct {
		reqPoll, minPoll, want int8
	}{
		{6, 10, 10}, {10, 10, 11}, {12, 10, 13}, {17, 10, 17}, {0, 4, 4},
	} {
		b := append([]byte{}, ntpcap.NtpdSynced...)
		b[2] = byte(tc.reqPoll)
		out := make([]byte, ntp.HeaderLen)
		n, why := RespondRateKoD(b, tc.minPoll, out)
		if n != ntp.HeaderLen || why != DropNone {
			t.Fatalf("RespondRateKoD = %d %v", n, why)
		}
		var h ntp.Header
		_ = ntp.Decode(out, &h)
		if h.Stratum != 0 || string(h.RefID[:]) != "RATE" || h.Mode != ntp.ModeServer || h.Version != 4 || h.Leap != 3 {
			t.Errorf("KoD header %+v", h)
		}
		if h.PollLog2 != tc.want {
			t.Errorf("req poll %d min %d: KoD poll %d, want %d", tc.reqPoll, tc.minPoll, h.PollLog2, tc.want)
		}
		if h.OriginTime != 0xecd8a4b2c6a7ef9e {
			t.Errorf("KoD origin %#x", uint64(h.OriginTime))
		}
	}
	if n, why := RespondRateKoD(ntpcap.Monlist, 10, make([]byte, ntp.HeaderLen)); n != 0 || why != DropModePrivate {
		t.Errorf("KoD to monlist: %d %v", n, why)
	}
}

func TestRespondNoAllocs(t *testing.T) {
	st := syncedState()
	out := make([]byte, ntp.HeaderLen)
	if n := testing.AllocsPerRun(100, func() { Respond(ntpcap.NTS, testRx, testTx, st, out) }); n != 0 {
		t.Fatalf("%v allocs per Respond", n)
	}
}

func BenchmarkRespond(b *testing.B) {
	st := syncedState()
	out := make([]byte, ntp.HeaderLen)
	b.ReportAllocs()
	for b.Loop() {
		Respond(ntpcap.Chrony, testRx, testTx, st, out)
	}
}

// respondControlFuzz runs the mode 6 builder on b and returns the total
// length of its fragments, checking each is within bounds.
func respondControlFuzz(b []byte) (int, DropReason) {
	info := defaultControlInfo()
	r, ok := buildControl(b, refclockSnapshot(syncedState(), testTx), &info, make([]byte, 0, 4096))
	if !ok {
		return 0, DropControlBad
	}
	total := 0
	f := make([]byte, controlMaxFrag)
	for i := range r.fragments() {
		n := r.fragment(i, f)
		if n > controlMaxFrag || n%4 != 0 {
			panic("bad fragment")
		}
		total += n
	}
	return total, DropNone
}

// BenchmarkProcess is the whole per-request path but the socket calls:
// classify, rate limit (4096 client addresses, within their limits), respond.
func BenchmarkProcess(b *testing.B) {
	cfg := DefaultConfig()
	cfg.RateInterval = time.Millisecond
	cfg.RateBurst = 1 << 16
	s, err := New(cfg, SystemClock{}, syncedState, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := syncedState()
	dst := netip.MustParseAddr("192.0.2.1")
	out := make([]byte, ntp.HeaderLen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8 & 0xf), byte(i)})
		if act, _ := s.process(ntpcap.Chrony, src, dst, true, testRx, int64(i)+1, st, out); act == actDrop {
			b.Fatal("dropped")
		}
	}
}

// FuzzRespond checks the server's answers to any datagram: a client reply
// is 48 octets or nothing, never longer than the request, and every packet
// gets a reply or a reason; the mode 6 builder never fails its bounds.
func FuzzRespond(f *testing.F) {
	for _, b := range ntpcap.All {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h ntp.Header
		err := ntp.Decode(b, &h)
		reply := make([]byte, ntp.HeaderLen)
		n, why := Respond(b, testRx, testTx, syncedState(), reply)
		if n != 0 && (n != ntp.HeaderLen || n > len(b) || why != DropNone || err != nil) {
			t.Fatalf("reply of %d octets to %d (%v, decode %v)", n, len(b), why, err)
		}
		if n == 0 && why == DropNone {
			t.Fatal("no reply and no reason")
		}
		n, _ = respondControlFuzz(b)
		if n < 0 {
			t.Fatal("negative control reply")
		}
	})
}
