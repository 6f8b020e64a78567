package udpio

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestMmsghdrLayout(t *testing.T) {
	// struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; },
	// padded to the alignment of msghdr: 64 octets on 64-bit, 32 on 32-bit.
	want := uintptr(64)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 32
	}
	if s := unsafe.Sizeof(Mmsghdr{}); s != want {
		t.Fatalf("mmsghdr is %d octets, want %d", s, want)
	}
	if o := unsafe.Offsetof(Mmsghdr{}.Len); o != unsafe.Sizeof(unix.Msghdr{}) {
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

	tss := make([]byte, 48) // software, deprecated, hardware
	copy(tss, ts16)
	tss32 := make([]byte, 24)
	copy(tss32, ts8)
	ee := make([]byte, 16+unix.SizeofSockaddrInet4) // sock_extended_err, then the offender
	*(*uint32)(unsafe.Pointer(&ee[0])) = uint32(unix.ENOMSG)
	ee[4] = unix.SO_EE_ORIGIN_TIMESTAMPING
	*(*uint32)(unsafe.Pointer(&ee[8])) = unix.SCM_TSTAMP_SND
	*(*uint32)(unsafe.Pointer(&ee[12])) = 41
	eeOther := append([]byte(nil), ee...)
	*(*uint32)(unsafe.Pointer(&eeOther[0])) = uint32(unix.EHOSTUNREACH)
	eeAck := append([]byte(nil), ee...)
	*(*uint32)(unsafe.Pointer(&eeAck[8])) = 2 // SCM_TSTAMP_ACK

	for _, tc := range []struct {
		name string
		b    []byte
		want Cmsgs
	}{
		{"none", nil, Cmsgs{}},
		{"tx stamp and id", cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, tss), unix.IPPROTO_IP, unix.IP_RECVERR, ee),
			Cmsgs{StampSec: 1764063000, StampNsec: 123456789, StampKnown: true, TxID: 41, TxIDKnown: true}},
		{"tx stamp old 32-bit, id over IPv6", cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD, tss32), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, ee),
			Cmsgs{StampSec: 1764063000, StampNsec: 987654321, StampKnown: true, TxID: 41, TxIDKnown: true}},
		{"zero software stamp", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, make([]byte, 48)), Cmsgs{}},
		{"other error", cmsg(nil, unix.IPPROTO_IP, unix.IP_RECVERR, eeOther), Cmsgs{}},
		{"other stamp kind", cmsg(nil, unix.IPPROTO_IP, unix.IP_RECVERR, eeAck), Cmsgs{}},
		{"short extended error", cmsg(nil, unix.IPPROTO_IP, unix.IP_RECVERR, ee[:12]), Cmsgs{}},
		{"timestamp new", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), Cmsgs{RxSec: 1764063000, RxNsec: 123456789, RxKnown: true}},
		{"timestamp old 32-bit", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, ts8), Cmsgs{RxSec: 1764063000, RxNsec: 987654321, RxKnown: true}},
		{"timestamp and pktinfo", cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), unix.IPPROTO_IP, unix.IP_PKTINFO, pi4),
			Cmsgs{RxSec: 1764063000, RxNsec: 123456789, RxKnown: true, Dst: netip.MustParseAddr("192.0.2.1"), DstKnown: true, Ifindex: 3}},
		{"pktinfo6 then timestamp", cmsg(cmsg(nil, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pi6), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16),
			Cmsgs{RxSec: 1764063000, RxNsec: 123456789, RxKnown: true, Dst: netip.MustParseAddr("2001:db8::123"), DstKnown: true, Ifindex: 7}},
		{"unknown skipped", cmsg(cmsg(nil, unix.SOL_SOCKET, 99, []byte{1, 2, 3}), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16), Cmsgs{RxSec: 1764063000, RxNsec: 123456789, RxKnown: true}},
		{"truncated", cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts16)[:cmsgHdrLen+8], Cmsgs{}},
		{"short pktinfo ignored", cmsg(nil, unix.IPPROTO_IP, unix.IP_PKTINFO, pi4[:8]), Cmsgs{}},
	} {
		if got := ParseCmsgs(tc.b); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Garbage never panics.
	for n := range 64 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 37)
		}
		ParseCmsgs(b)
	}
}

func TestPktinfoReplies(t *testing.T) {
	b := make([]byte, SendOOBLen)
	n := PutPktinfo4(b, netip.MustParseAddr("192.0.2.1"))
	if n > SendOOBLen || n != unix.CmsgSpace(unix.SizeofInet4Pktinfo) {
		t.Fatalf("pktinfo4 space %d", n)
	}
	// The reply names the source in spec_dst, any interface.
	if got := b[cmsgHdrLen : cmsgHdrLen+12]; got[4] != 192 || got[7] != 1 || got[0]|got[1]|got[2]|got[3] != 0 || got[8]|got[11] != 0 {
		t.Fatalf("in_pktinfo %v", got)
	}
	n = PutPktinfo6(b, netip.MustParseAddr("fe80::1"), 4)
	if n > SendOOBLen {
		t.Fatalf("pktinfo6 space %d", n)
	}
	ci := ParseCmsgs(b[:n])
	if !ci.DstKnown || ci.Dst != netip.MustParseAddr("fe80::1") || ci.Ifindex != 4 {
		t.Fatalf("pktinfo6 reads back as %+v", ci)
	}
}

func TestTxStampRequest(t *testing.T) {
	b := make([]byte, SendOOBLen)
	n := PutPktinfo6(b, netip.MustParseAddr("fe80::1"), 4)
	m := PutTxStampRequest(b[n:])
	if m > TxStampRequestLen || n+m > SendOOBLen {
		t.Fatalf("packet info %d + stamp request %d octets: over %d / %d", n, m, TxStampRequestLen, SendOOBLen)
	}
	if ci := ParseCmsgs(b[:n+m]); !ci.DstKnown || ci.StampKnown || ci.TxIDKnown {
		t.Fatalf("packet info then request reads back as %+v", ci)
	}
}

func TestAddrFromRaw(t *testing.T) {
	var sa unix.RawSockaddrInet6
	sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	sa4.Family, sa4.Addr = unix.AF_INET, [4]byte{127, 0, 0, 1}
	if a, ok := AddrFromRaw(&sa, unix.SizeofSockaddrInet4); !ok || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("v4: %v %v", a, ok)
	}
	sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.IPv6Loopback().As16()}
	if a, ok := AddrFromRaw(&sa, unix.SizeofSockaddrInet6); !ok || a != netip.IPv6Loopback() {
		t.Errorf("v6: %v %v", a, ok)
	}
	if _, ok := AddrFromRaw(&sa, 8); ok {
		t.Error("short v6 sockaddr accepted")
	}
	sa.Family = unix.AF_UNIX
	if _, ok := AddrFromRaw(&sa, unix.SizeofSockaddrInet6); ok {
		t.Error("AF_UNIX accepted")
	}
}

func TestSockaddrRoundTrip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:123", "127.0.0.1:123"},
		{"[::ffff:192.0.2.1]:9", "192.0.2.1:9"},
		{"[::1]:11123", "[::1]:11123"},
		{"[fe80::1%7]:123", "[fe80::1%7]:123"},
	} {
		sa, err := SockaddrFromAddrPort(netip.MustParseAddrPort(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := AddrPortFromSockaddr(sa); got != netip.MustParseAddrPort(tc.want) {
			t.Errorf("%s: round trip gave %s, want %s", tc.in, got, tc.want)
		}
	}
	if _, err := SockaddrFromAddrPort(netip.MustParseAddrPort("[fe80::1%no-such-interface-x]:123")); err == nil {
		t.Error("a zone naming no interface was accepted")
	}
	if got := AddrPortFromSockaddr(&unix.SockaddrUnix{Name: "/x"}); got.IsValid() {
		t.Errorf("AF_UNIX gave %s", got)
	}
}

// loopbackPair binds two IPv4 UDP sockets on 127.0.0.1 and returns their
// descriptors and addresses; they are closed when the test ends.
func loopbackPair(t *testing.T) (fds [2]int, addrs [2]netip.AddrPort) {
	t.Helper()
	for i := range fds {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		sa, _ := SockaddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0"))
		if err := unix.Bind(fd, sa); err != nil {
			t.Fatal(err)
		}
		got, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		tv := unix.NsecToTimeval(int64(5 * time.Second))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		fds[i], addrs[i] = fd, AddrPortFromSockaddr(got)
	}
	return fds, addrs
}

// TestBatchLoopback moves a batch over loopback both ways: sendmmsg to a
// connected peer, recvmmsg with sources, kernel timestamps and packet info,
// and replies addressed with SetDest from the receiving batch.
func TestBatchLoopback(t *testing.T) {
	fds, addrs := loopbackPair(t)
	_, tsErr := EnableRxTimestamps(fds[1])
	if tsErr != nil {
		t.Logf("no kernel receive timestamps here (qemu-user?), not checked: %v", tsErr)
	}
	if err := EnablePktinfo(fds[1], false); err != nil {
		t.Fatal(err)
	}
	peer, _ := SockaddrFromAddrPort(addrs[1])
	if err := unix.Connect(fds[0], peer); err != nil {
		t.Fatal(err)
	}
	const n = 4
	out := NewBatch(n, 8, 0, false)
	for i := range n {
		copy(out.Buf(i), "request")
		out.Buf(i)[7] = byte('0' + i)
	}
	out.SetLen(n-1, 3) // the last is sent short
	before := time.Now()
	if k, e := SendMmsg(fds[0], out.Msgs, 0); e != 0 || k != n {
		t.Fatalf("sendmmsg: %d, %v", k, e)
	}
	in := NewBatch(n, 16, RecvOOBLen, true)
	got := 0
	for got < n {
		in.ResetRecv(n)
		k, e := RecvMmsg(fds[1], in.Msgs[got:], unix.MSG_WAITFORONE)
		if e != 0 {
			t.Fatalf("recvmmsg: %v", e)
		}
		got += k
	}
	after := time.Now()
	for i := range n {
		want := "request" + string(rune('0'+i))
		if i == n-1 {
			want = "req"
		}
		if string(in.Data(i)) != want || in.Truncated(i) {
			t.Errorf("datagram %d: %q (truncated %v), want %q", i, in.Data(i), in.Truncated(i), want)
		}
		if src, ok := in.Source(i); !ok || src != addrs[0].Addr() {
			t.Errorf("datagram %d from %v %v, want %v", i, src, ok, addrs[0].Addr())
		}
		cm := ParseCmsgs(in.Control(i))
		if tsErr == nil && !cm.RxKnown || cm.RxKnown && cm.RxTime().Before(before.Add(-time.Millisecond)) || cm.RxTime().After(after) {
			t.Errorf("datagram %d: receive stamp %v (known %v) not in [%v, %v]", i, cm.RxTime(), cm.RxKnown, before, after)
		}
		if !cm.DstKnown || cm.Dst != addrs[1].Addr() || cm.Ifindex == 0 {
			t.Errorf("datagram %d: destination %v (known %v) on interface %d", i, cm.Dst, cm.DstKnown, cm.Ifindex)
		}
	}
	// Replies go back to the sources, the first with packet info naming
	// its source address.
	reply := NewBatch(n, 8, SendOOBLen, false)
	for i := range n {
		copy(reply.Buf(i), "reply")
		reply.SetLen(i, 5)
		reply.SetDest(i, in, i)
		reply.SetControl(i, 0)
	}
	reply.SetControl(0, PutPktinfo4(reply.OOB(0), addrs[1].Addr()))
	if k, e := SendMmsgRaw(fds[1], reply.Msgs, unix.MSG_DONTWAIT); e != 0 || k != n {
		t.Fatalf("sendmmsg replies: %d, %v", k, e)
	}
	back := NewBatch(n, 16, 0, false)
	for got = 0; got < n; {
		k, e := RecvMmsg(fds[0], back.Msgs[got:], unix.MSG_WAITFORONE)
		if e != 0 {
			t.Fatalf("recvmmsg replies: %v", e)
		}
		got += k
	}
	for i := range n {
		if string(back.Data(i)) != "reply" {
			t.Errorf("reply %d: %q", i, back.Data(i))
		}
	}
	if k, e := RecvMmsgRaw(fds[0], back.Msgs, unix.MSG_DONTWAIT); e != unix.EAGAIN || k != 0 {
		t.Errorf("empty queue: %d, %v, want EAGAIN", k, e)
	}
	// One message alone with sendmsg.
	if k, e := SendMsg(fds[0], &out.Msgs[0].Hdr, 0); e != 0 || k != 8 {
		t.Errorf("sendmsg: %d, %v", k, e)
	}
	if k, e := RecvMmsg(fds[1], nil, 0); k != 0 || e != 0 {
		t.Errorf("empty vector: %d, %v", k, e)
	}
}

func TestBatchNoAllocs(t *testing.T) {
	fds, addrs := loopbackPair(t)
	peer, _ := SockaddrFromAddrPort(addrs[1])
	if err := unix.Connect(fds[0], peer); err != nil {
		t.Fatal(err)
	}
	out := NewBatch(8, 48, 0, false)
	in := NewBatch(8, 64, RecvOOBLen, true)
	if n := testing.AllocsPerRun(100, func() {
		k, _ := SendMmsgRaw(fds[0], out.Msgs, unix.MSG_DONTWAIT)
		for got := 0; got < k; {
			in.ResetRecv(len(in.Msgs))
			r, e := RecvMmsg(fds[1], in.Msgs, unix.MSG_WAITFORONE)
			if e != 0 {
				t.Fatal(e)
			}
			for i := range r {
				_, _ = in.Source(i)
				_ = ParseCmsgs(in.Control(i))
				_ = in.Data(i)
			}
			got += r
		}
	}); n != 0 {
		t.Fatalf("%v allocations per batch sent and received", n)
	}
}

func FuzzParseCmsgs(f *testing.F) {
	ts := make([]byte, 16)
	f.Add(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts))
	f.Add(cmsg(cmsg(nil, unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 12)), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, ts[:8]))
	f.Add(cmsg(nil, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, make([]byte, 20)))
	f.Add(cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, make([]byte, 48)), unix.IPPROTO_IP, unix.IP_RECVERR, make([]byte, 32)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ci := ParseCmsgs(b)
		if ci.DstKnown && !ci.Dst.IsValid() {
			t.Fatal("destination known but invalid")
		}
	})
}

// TestTxTimestampsLoopback sends a batch with transmit timestamps on and
// reads them back from the error queue: one per datagram, numbered in
// order from 0, each stamped between the send's start and end; received
// datagrams still carry their receive stamps.
func TestTxTimestampsLoopback(t *testing.T) {
	fds, addrs := loopbackPair(t)
	_, rxErr := EnableRxTimestamps(fds[1])
	if rxErr != nil {
		t.Logf("no kernel receive timestamps here (qemu-user?): %v", rxErr)
	}
	if err := EnableTxTimestamps(fds[1]); err != nil {
		// qemu-user passes no SO_TIMESTAMPING: then there is nothing to
		// read back, and the queue must say so rather than hang.
		t.Logf("no kernel transmit timestamps here (qemu-user?), not checked: %v", err)
		errq := NewBatch(4, 1, ErrOOBLen, false)
		errq.ResetRecv(4)
		if k, e := RecvErrQueue(fds[1], errq.Msgs); e != unix.EAGAIN || k != 0 {
			t.Errorf("error queue without stamps: %d, %v, want EAGAIN", k, e)
		}
		return
	}
	peer, _ := SockaddrFromAddrPort(addrs[0])
	if err := unix.Connect(fds[1], peer); err != nil {
		t.Fatal(err)
	}
	// Five datagrams a round, the third without a stamp request: four
	// stamps, numbered on from the last round's.
	const n = 5
	out := NewBatch(n, 48, SendOOBLen, false)
	for i := range n {
		out.SetControl(i, 0)
		if i != 2 {
			out.SetControl(i, PutTxStampRequest(out.OOB(i)))
		}
	}
	errq := NewBatch(2*n, 1, ErrOOBLen, false)
	for round := range 2 {
		before := time.Now()
		if k, e := SendMmsg(fds[1], out.Msgs, 0); e != 0 || k != n {
			t.Fatalf("sendmmsg: %d, %v", k, e)
		}
		after := time.Now()
		errq.ResetRecv(len(errq.Msgs))
		k, e := RecvErrQueue(fds[1], errq.Msgs)
		if e != 0 || k != n-1 {
			t.Fatalf("round %d: error queue gave %d, %v; want %d stamps", round, k, e, n-1)
		}
		for i := range k {
			cm := ParseCmsgs(errq.Control(i))
			if want := uint32(round*(n-1) + i); !cm.TxIDKnown || cm.TxID != want {
				t.Errorf("round %d stamp %d: id %d (known %v), want %d", round, i, cm.TxID, cm.TxIDKnown, want)
			}
			if !cm.StampKnown || cm.TxStamp().Before(before) || cm.TxStamp().After(after) {
				t.Errorf("round %d stamp %d: %v (known %v) not in [%v, %v]", round, i, cm.TxStamp(), cm.StampKnown, before, after)
			}
		}
		if k, e := RecvErrQueue(fds[1], errq.Msgs); e != unix.EAGAIN || k != 0 {
			t.Errorf("drained error queue: %d, %v, want EAGAIN", k, e)
		}
	}
	// Received datagrams still carry their receive stamp and packet info
	// next to the SCM_TIMESTAMPING copy, within RecvOOBLen.
	if err := EnablePktinfo(fds[1], false); err != nil {
		t.Fatal(err)
	}
	self, _ := SockaddrFromAddrPort(addrs[1])
	if err := unix.Sendto(fds[0], []byte("x"), 0, self); err != nil {
		t.Fatal(err)
	}
	in := NewBatch(1, 16, RecvOOBLen, true)
	in.ResetRecv(1)
	if k, e := RecvMmsg(fds[1], in.Msgs, 0); e != 0 || k != 1 {
		t.Fatalf("recvmmsg: %d, %v", k, e)
	}
	if in.Msgs[0].Hdr.Flags&unix.MSG_CTRUNC != 0 {
		t.Errorf("control messages truncated in %d octets", RecvOOBLen)
	}
	if cm := ParseCmsgs(in.Control(0)); rxErr == nil && !cm.RxKnown || !cm.DstKnown || cm.TxIDKnown {
		t.Errorf("received datagram: %+v", cm)
	}
}
