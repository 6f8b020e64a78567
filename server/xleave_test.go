package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
)

func TestXleaveTable(t *testing.T) {
	x := newXleaveTable()
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	x.put(a, 0x1001, 0x2000)
	x.put(b, 0x1001, 0x3000)
	if _, ok := x.take(a, 0x1003); ok {
		t.Error("took a receive timestamp never saved")
	}
	x.update(a, 0x1001, 0x2222) // the kernel's stamp replaces the daemon's
	if tx, ok := x.take(a, 0x1001); !ok || tx != 0x2222 {
		t.Errorf("take a = %#x %v, want the kernel's 0x2222", tx, ok)
	}
	if _, ok := x.take(a, 0x1001); ok {
		t.Error("a saved transmit time was served twice")
	}
	if tx, ok := x.take(b, 0x1001); !ok || tx != 0x3000 {
		t.Errorf("take b = %#x %v: another address's entry with the same receive timestamp", tx, ok)
	}
	x.update(a, 0x1001, 0x9999) // served and gone: nothing to update
	if _, ok := x.take(a, 0x1001); ok {
		t.Error("update brought back a served entry")
	}
}

// TestXleaveTableFlood: a flood from one address keeps only its last
// xleaveWays replies and never touches an address in another bucket; the
// table never holds more than its fixed size.
func TestXleaveTableFlood(t *testing.T) {
	x := newXleaveTable()
	flood := netip.MustParseAddr("198.51.100.7")
	fb, _ := x.bucket(flood)
	var quiet netip.Addr
	for i := 1; ; i++ {
		quiet = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		if qb, _ := x.bucket(quiet); qb != fb {
			break
		}
	}
	x.put(quiet, 0x77, 0x88)
	const n = 100000
	for i := range n {
		x.put(flood, ntp.Time(2*i+1), ntp.Time(i))
	}
	if tx, ok := x.take(quiet, 0x77); !ok || tx != 0x88 {
		t.Errorf("the flood evicted another bucket's client: %#x %v", tx, ok)
	}
	kept := 0
	for i := range n {
		if _, ok := x.take(flood, ntp.Time(2*i+1)); ok {
			kept++
			if i < n-xleaveWays {
				t.Errorf("entry %d of the flood kept, want only the last %d", i, xleaveWays)
			}
		}
	}
	if kept != xleaveWays {
		t.Errorf("%d flood entries kept, want %d", kept, xleaveWays)
	}
	// Many addresses: the table stays at its size (a fixed array) and the
	// newest entry of each bucket survives.
	for i := range 50000 {
		x.put(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1, 2)
	}
	last := netip.AddrFrom4([4]byte{10, 0, 0xc3, 0x4f}) // i = 49999
	if _, ok := x.take(last, 1); !ok {
		t.Error("the newest entry was evicted")
	}
}

// TestProcessInterleaved walks a client through the modes as chronyd's
// xleave does: a basic request; a request echoing our receive timestamp
// that we never saved (basic, but saved); one echoing a saved one
// (interleaved: the saved transmit time, the client's receive field as
// origin); the same request replayed (basic again: served once). A
// request of NTPv3 or with equal receive and transmit fields never
// interleaves.
func TestProcessInterleaved(t *testing.T) {
	st := syncedState()
	s, err := New(testConfig("127.0.0.1:0"), SystemClock{}, func() *discipline.SyncState { return st }, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.10")
	rx := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	out := make([]byte, ntp.HeaderLen)
	ask := func(v uint8, origin, recv, xmt ntp.Time) (action, ntp.Header) {
		t.Helper()
		req := make([]byte, ntp.HeaderLen)
		ntp.Encode(&ntp.Header{Version: v, Mode: ntp.ModeClient, OriginTime: origin, ReceiveTime: recv, TransmitTime: xmt}, req)
		act, why := s.process(req, src, netip.Addr{}, false, rx, 0, st, out)
		if why != DropNone {
			t.Fatalf("dropped: %v", why)
		}
		var h ntp.Header
		if err := ntp.Decode(out, &h); err != nil {
			t.Fatal(err)
		}
		return act, h
	}
	act, h := ask(4, 0, 0, 0x5000)
	if act != actAnswer || h.ReceiveTime&1 != 1 || h.OriginTime != 0x5000 {
		t.Fatalf("basic: action %d, receive %#x (want lowest bit set), origin %#x", act, h.ReceiveTime, h.OriginTime)
	}
	prevRx := h.ReceiveTime
	if act, _ = ask(4, prevRx, 0x6000, 0x7000); act != actSave {
		t.Fatalf("echo of an unsaved receive timestamp: action %d, want a saved basic answer", act)
	}
	s.xleave.put(src, prevRx, 0xabcdef01) // what the worker does on sending
	act, h = ask(4, prevRx, 0x6000, 0x7000)
	if act != actInterleaved || h.OriginTime != 0x6000 || h.TransmitTime != 0xabcdef00 {
		t.Fatalf("interleaved: action %d, origin %#x (want the request's receive 0x6000), transmit %#x (want the saved one, lowest bit clear)",
			act, h.OriginTime, h.TransmitTime)
	}
	if act, _ = ask(4, prevRx, 0x6000, 0x7000); act != actSave {
		t.Errorf("replayed interleaved request: action %d, want basic", act)
	}
	s.xleave.put(src, prevRx, 0xabcdef01)
	if act, _ = ask(3, prevRx, 0x6000, 0x7000); act != actAnswer {
		t.Errorf("NTPv3: action %d, want basic", act)
	}
	if act, _ = ask(4, prevRx, 0x7000, 0x7000); act != actAnswer {
		t.Errorf("receive = transmit: action %d, want basic", act)
	}
	if act, _ = ask(4, prevRx&^1, 0x6000, 0x7000); act != actAnswer {
		t.Errorf("origin without the mark: action %d, want basic", act)
	}
}
