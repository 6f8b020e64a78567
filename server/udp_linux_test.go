package server

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	beevik "github.com/beevik/ntp"
	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
	"golang.org/x/sys/unix"
)

func TestMmsghdrLayout(t *testing.T) {
	// struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; },
	// padded to the alignment of msghdr: 64 octets on 64-bit, 32 on 32-bit.
	want := uintptr(64)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 32
	}
	if s := unsafe.Sizeof(mmsghdr{}); s != want {
		t.Fatalf("mmsghdr is %d octets, want %d", s, want)
	}
	if o := unsafe.Offsetof(mmsghdr{}.len); o != unsafe.Sizeof(unix.Msghdr{}) {
		t.Fatalf("msg_len at %d", o)
	}
}

// cmsg appends one control message as the kernel lays it out.
func cmsg(b []byte, level, typ int32, data []byte) []byte {
	m := make([]byte, unix.CmsgSpace(len(data)))
	putCmsgHdr(m, level, typ, len(data))
	copy(m[cmsgHdrLen:], data)
	return append(b, m...)
}

func TestParseCmsgs(t *testing.T) {
	ts16 := make([]byte, 16)
	*(*int64)(unsafe.Pointer(&ts16[0])) = 1764063000
	*(*int64)(unsafe.Pointer(&ts16[8])) = 123456789
	ts8 := make([]byte, 8)
	*(*int32)(unsafe.Pointer(&ts8[0])) = 1764063000
	*(*int32)(unsafe.Pointer(&ts8[4])) = 987654321
	pi4 := make([]byte, unix.SizeofInet4Pktinfo)
	*(*int32)(unsafe.Pointer(&pi4[0])) = 3
	copy(pi4[4:8], []byte{192, 0, 2, 9}) // spec_dst: the route's choice, ignored
	copy(pi4[8:12], []byte{192, 0, 2, 1})
	pi6 := make([]byte, unix.SizeofInet6Pktinfo)
	a6 := netip.MustParseAddr("2001:db8::123").As16()
	copy(pi6, a6[:])
	*(*uint32)(unsafe.Pointer(&pi6[16])) = 7

	for _, tc := range []struct {
		name string
		b    []byte
		want cmsgInfo
	}{
		{"none", nil, cmsgInfo{}},
		{"timestamp new", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), cmsgInfo{sec: 1764063000, nsec: 123456789, tsKnown: true}},
		{"timestamp old 32-bit", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, ts8), cmsgInfo{sec: 1764063000, nsec: 987654321, tsKnown: true}},
		{"timestamp and pktinfo", cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), unix.IPPROTO_IP, unix.IP_PKTINFO, pi4),
			cmsgInfo{sec: 1764063000, nsec: 123456789, tsKnown: true, dst: netip.MustParseAddr("192.0.2.1"), dstKnown: true, ifindex: 3}},
		{"pktinfo6 then timestamp", cmsg(cmsg(nil, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pi6), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16),
			cmsgInfo{sec: 1764063000, nsec: 123456789, tsKnown: true, dst: netip.MustParseAddr("2001:db8::123"), dstKnown: true, ifindex: 7}},
		{"unknown skipped", cmsg(cmsg(nil, unix.SOL_SOCKET, 99, []byte{1, 2, 3}), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), cmsgInfo{sec: 1764063000, nsec: 123456789, tsKnown: true}},
		{"truncated", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16)[:cmsgHdrLen+8], cmsgInfo{}},
		{"short pktinfo ignored", cmsg(nil, unix.IPPROTO_IP, unix.IP_PKTINFO, pi4[:8]), cmsgInfo{}},
	} {
		if got := parseCmsgs(tc.b); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Garbage never panics.
	for n := range 64 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 37)
		}
		parseCmsgs(b)
	}
}

func TestPktinfoReplies(t *testing.T) {
	b := make([]byte, sendOOBLen)
	n := putPktinfo4(b, netip.MustParseAddr("192.0.2.1"))
	if n > sendOOBLen || n != unix.CmsgSpace(unix.SizeofInet4Pktinfo) {
		t.Fatalf("pktinfo4 space %d", n)
	}
	// The reply names the source in spec_dst, any interface.
	if got := b[cmsgHdrLen : cmsgHdrLen+12]; got[4] != 192 || got[7] != 1 || got[0]|got[1]|got[2]|got[3] != 0 || got[8]|got[11] != 0 {
		t.Fatalf("in_pktinfo %v", got)
	}
	n = putPktinfo6(b, netip.MustParseAddr("fe80::1"), 4)
	if n > sendOOBLen {
		t.Fatalf("pktinfo6 space %d", n)
	}
	ci := parseCmsgs(b[:n])
	if !ci.dstKnown || ci.dst != netip.MustParseAddr("fe80::1") || ci.ifindex != 4 {
		t.Fatalf("pktinfo6 reads back as %+v", ci)
	}
}

func TestSockaddrAddr(t *testing.T) {
	var sa unix.RawSockaddrInet6
	sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	sa4.Family, sa4.Addr = unix.AF_INET, [4]byte{127, 0, 0, 1}
	if a, ok := sockaddrAddr(&sa, unix.SizeofSockaddrInet4); !ok || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("v4: %v %v", a, ok)
	}
	sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.IPv6Loopback().As16()}
	if a, ok := sockaddrAddr(&sa, unix.SizeofSockaddrInet6); !ok || a != netip.IPv6Loopback() {
		t.Errorf("v6: %v %v", a, ok)
	}
	if _, ok := sockaddrAddr(&sa, 8); ok {
		t.Error("short v6 sockaddr accepted")
	}
	sa.Family = unix.AF_UNIX
	if _, ok := sockaddrAddr(&sa, unix.SizeofSockaddrInet6); ok {
		t.Error("AF_UNIX accepted")
	}
}

// splitClock receives an hour ahead (FromSystem) and transmits two hours
// ahead (Now), so a reply shows which clock stamped which field.
type splitClock struct{}

func (splitClock) Now() time.Time                   { return time.Now().Add(2 * time.Hour) }
func (splitClock) FromSystem(t time.Time) time.Time { return t.Add(time.Hour) }

func TestKernelReceiveTimestamps(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0"), splitClock{}, syncedState())
	before := time.Now()
	resp, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: int(r.addr(0).Port()), Timeout: 5 * time.Second})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	// Receive: the kernel's CLOCK_REALTIME stamp, mapped by FromSystem.
	if rx := resp.Timestamps.ServerRecv.Add(-time.Hour); rx.Before(before.Add(-time.Millisecond)) || rx.After(after) {
		t.Errorf("receive %v not within [%v, %v] + 1h", resp.Timestamps.ServerRecv, before, after)
	}
	// Transmit: read from the served clock, Now.
	if tx := resp.Timestamps.ServerXmit.Add(-2 * time.Hour); tx.Before(before.Add(-time.Millisecond)) || tx.After(after) {
		t.Errorf("transmit %v not within [%v, %v] + 2h", resp.Timestamps.ServerXmit, before, after)
	}
}

func TestServeNoAllocs(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0"), SystemClock{}, syncedState())
	c := dial(t, r.addr(0))
	buf := make([]byte, 128)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	exchange(t, c, ntpcap.Chrony, 5*time.Second) // warm up
	if n := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(ntpcap.Chrony); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per request answered over loopback (client and server)", n)
	}
}

func FuzzParseCmsgs(f *testing.F) {
	ts := make([]byte, 16)
	f.Add(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts))
	f.Add(cmsg(cmsg(nil, unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 12)), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, ts[:8]))
	f.Add(cmsg(nil, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, make([]byte, 20)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ci := parseCmsgs(b)
		if ci.dstKnown && !ci.dst.IsValid() {
			t.Fatal("destination known but invalid")
		}
	})
}
