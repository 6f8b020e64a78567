package udpio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mmsghdr is struct mmsghdr (recvmmsg(2), sendmmsg(2)): a message header
// and Len, the octets the kernel moved for it. Go pads it like C on every
// architecture (64 octets on 64-bit, 32 on 32-bit arm), which
// TestMmsghdrLayout pins.
type Mmsghdr struct {
	// Hdr is the message: its address, payload vector and control buffer.
	Hdr unix.Msghdr
	// Len is the number of payload octets received or sent, set by the
	// kernel.
	Len uint32
}

// Batch is a reusable vector of datagram slots for one recvmmsg or sendmmsg
// call: every slot has a payload buffer of a fixed size and, when asked for,
// a source-address buffer and a control-message buffer, all allocated once
// by NewBatch so that moving a batch allocates nothing. Slot i is Msgs[i].
// A Batch belongs to one goroutine at a time.
type Batch struct {
	// Msgs are the message headers handed to RecvMmsg and SendMmsg.
	Msgs []Mmsghdr
	// Names are the slots' address buffers (nil for a batch made without):
	// the sources recvmmsg writes.
	Names []unix.RawSockaddrInet6

	iovs   []unix.Iovec
	buf    []byte // len(Msgs) * size
	oob    []byte // len(Msgs) * oobLen
	size   int
	oobLen int
}

// NewBatch makes a batch of n slots, each with a payload buffer of size
// octets (size >= 1), a control buffer of oobLen octets (0: none) and, if
// names, an address buffer for the datagram's source. Each slot's payload
// vector starts out covering its whole buffer.
func NewBatch(n, size, oobLen int, names bool) *Batch {
	b := &Batch{
		Msgs: make([]Mmsghdr, n), iovs: make([]unix.Iovec, n),
		buf: make([]byte, n*size), size: size, oobLen: oobLen,
	}
	if oobLen > 0 {
		b.oob = make([]byte, n*oobLen)
	}
	if names {
		b.Names = make([]unix.RawSockaddrInet6, n)
	}
	for i := range n {
		b.iovs[i].Base = &b.buf[i*size]
		b.iovs[i].SetLen(size)
		h := &b.Msgs[i].Hdr
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if names {
			h.Name = (*byte)(unsafe.Pointer(&b.Names[i]))
		}
	}
	return b
}

// ResetRecv readies the first n slots for recvmmsg: address and control
// buffers at their full size, flags and length cleared (the kernel shrinks
// them to what each datagram used).
func (b *Batch) ResetRecv(n int) {
	for i := range n {
		h := &b.Msgs[i].Hdr
		if b.Names != nil {
			h.Namelen = unix.SizeofSockaddrInet6
		}
		if b.oob != nil {
			h.Control = &b.oob[i*b.oobLen]
			h.SetControllen(b.oobLen)
		}
		h.Flags = 0
		b.Msgs[i].Len = 0
	}
}

// Buf returns slot i's whole payload buffer (the size given to NewBatch),
// for writing a datagram to send.
func (b *Batch) Buf(i int) []byte { return b.buf[i*b.size : (i+1)*b.size] }

// Data returns the Msgs[i].Len payload octets slot i received.
func (b *Batch) Data(i int) []byte { return b.buf[i*b.size : i*b.size+int(b.Msgs[i].Len)] }

// SetLen sets how many octets of Buf(i) slot i sends (at most the size
// given to NewBatch).
func (b *Batch) SetLen(i, n int) { b.iovs[i].SetLen(n) }

// Truncated reports whether slot i's datagram was longer than its buffer
// (MSG_TRUNC): Data(i) then holds only its start.
func (b *Batch) Truncated(i int) bool { return b.Msgs[i].Hdr.Flags&unix.MSG_TRUNC != 0 }

// Source returns the address slot i's datagram came from; false if the
// kernel wrote no IPv4 or IPv6 address. The batch must have been made with
// names.
func (b *Batch) Source(i int) (netip.Addr, bool) {
	return AddrFromRaw(&b.Names[i], b.Msgs[i].Hdr.Namelen)
}

// Control returns the control messages the kernel wrote for slot i's
// datagram, for ParseCmsgs.
func (b *Batch) Control(i int) []byte {
	return b.oob[i*b.oobLen : i*b.oobLen+int(b.Msgs[i].Hdr.Controllen)]
}

// OOB returns slot i's whole control buffer (the oobLen given to NewBatch),
// for writing control messages to send with SetControl.
func (b *Batch) OOB(i int) []byte { return b.oob[i*b.oobLen : (i+1)*b.oobLen] }

// SetControl sends the first n octets of OOB(i) as slot i's control
// messages; n = 0 sends none.
func (b *Batch) SetControl(i, n int) {
	h := &b.Msgs[i].Hdr
	if n == 0 {
		h.Control = nil
		h.SetControllen(0)
		return
	}
	h.Control = &b.oob[i*b.oobLen]
	h.SetControllen(n)
}

// SetDest addresses slot i to the source of slot j of from, a batch that
// received (a reply goes back where its request came from). from must
// outlive the send.
func (b *Batch) SetDest(i int, from *Batch, j int) {
	b.Msgs[i].Hdr.Name, b.Msgs[i].Hdr.Namelen = from.Msgs[j].Hdr.Name, from.Msgs[j].Hdr.Namelen
}

// RecvMmsg receives up to len(msgs) datagrams on fd with one recvmmsg(2)
// and flags (unix.MSG_DONTWAIT, unix.MSG_WAITFORONE, ...), returning how
// many arrived, or 0 and the error. It is an ordinary system call: the Go
// scheduler may run other goroutines while it blocks.
func RecvMmsg(fd int, msgs []Mmsghdr, flags int) (int, syscall.Errno) {
	return mmsg(unix.SYS_RECVMMSG, false, fd, msgs, flags)
}

// RecvMmsgRaw is RecvMmsg made without telling the scheduler, as the
// runtime's own non-blocking calls are: cheaper, for a call that cannot
// sleep (flags with unix.MSG_DONTWAIT, or a non-blocking descriptor).
func RecvMmsgRaw(fd int, msgs []Mmsghdr, flags int) (int, syscall.Errno) {
	return mmsg(unix.SYS_RECVMMSG, true, fd, msgs, flags)
}

// SendMmsg sends msgs on fd with one sendmmsg(2) and flags, returning how
// many the kernel took (it stops at the first that fails, returning the
// error only if that is the first), or 0 and the error. It is an ordinary
// system call, like RecvMmsg.
func SendMmsg(fd int, msgs []Mmsghdr, flags int) (int, syscall.Errno) {
	return mmsg(unix.SYS_SENDMMSG, false, fd, msgs, flags)
}

// SendMmsgRaw is SendMmsg made without telling the scheduler, for a call
// that cannot sleep (flags with unix.MSG_DONTWAIT).
func SendMmsgRaw(fd int, msgs []Mmsghdr, flags int) (int, syscall.Errno) {
	return mmsg(unix.SYS_SENDMMSG, true, fd, msgs, flags)
}

// mmsg makes the recvmmsg or sendmmsg call trap on msgs, raw or not.
func mmsg(trap uintptr, raw bool, fd int, msgs []Mmsghdr, flags int) (int, syscall.Errno) {
	if len(msgs) == 0 {
		return 0, 0
	}
	var r uintptr
	var e syscall.Errno
	if raw {
		r, _, e = unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), uintptr(flags), 0, 0)
	} else {
		r, _, e = unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), uintptr(flags), 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// SendMsg sends the one message h on fd with sendmsg(2) and flags,
// returning the octets sent or 0 and the error; an ordinary system call.
func SendMsg(fd int, h *unix.Msghdr, flags int) (int, syscall.Errno) {
	r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(h)), uintptr(flags))
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// EnableRxTimestamps asks the kernel to stamp every datagram fd receives
// with CLOCK_REALTIME (SO_TIMESTAMPNS), for ParseCmsgs: the 64-bit form
// where the kernel has it (Linux 5.1+, so 32-bit arm is safe past 2038),
// the old form otherwise. newForm says which. Without either (qemu-user,
// odd kernels) the error says so, and the caller stamps in user space.
func EnableRxTimestamps(fd int) (newForm bool, err error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1); err == nil {
		return true, nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, 1); err != nil {
		return false, fmt.Errorf("setsockopt SO_TIMESTAMPNS: %w", err)
	}
	return false, nil
}

// TxTimestampFlags are the SO_TIMESTAMPING flags EnableTxTimestamps sets:
// software stamps reported, numbered (OPT_ID) and without the payload
// looped back (OPT_TSONLY, which needs no privilege). Which datagrams are
// stamped each send says (PutTxStampRequest): a stamp costs the kernel a
// queued message and the caller a read.
const TxTimestampFlags = unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY

// EnableTxTimestamps readies fd for kernel transmit stamps: every datagram
// sent with a PutTxStampRequest control message is stamped with
// CLOCK_REALTIME as it leaves for the device (a software transmit stamp),
// and the stamp queued on fd's error queue, without the payload, numbered
// by the datagram's position among the stamped datagrams fd sent since
// this call (from 0), to be read with RecvErrQueue and ParseCmsgs
// (StampSec, TxID). The 64-bit form is asked first, as for receive
// timestamps. The caller must drain the error queue: it counts against
// the receive buffer.
func EnableTxTimestamps(fd int) error {
	var err error
	for _, opt := range []int{unix.SO_TIMESTAMPING_NEW, unix.SO_TIMESTAMPING_OLD} {
		// Received datagrams keep only their SO_TIMESTAMPNS stamp where
		// the kernel can filter (OPT_RX_FILTER, Linux 6.10+), saving it a
		// second copy per datagram.
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, TxTimestampFlags|sofTimestampingOptRxFilter); err == nil {
			return nil
		}
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, TxTimestampFlags); err == nil {
			return nil
		}
	}
	return fmt.Errorf("setsockopt SO_TIMESTAMPING: %w", err)
}

// sofTimestampingOptRxFilter is SOF_TIMESTAMPING_OPT_RX_FILTER (Linux
// 6.10), which golang.org/x/sys does not name yet.
const sofTimestampingOptRxFilter = 1 << 17

// PutTxStampRequest writes into b (at least TxStampRequestLen octets) the
// control message asking the kernel to stamp the one datagram it is sent
// with (SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_SOFTWARE; Linux 4.13+), and
// returns its length in octets. It may follow a packet-info message in
// the same buffer.
func PutTxStampRequest(b []byte) int {
	putCmsgHdr(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD, 4)
	binary.NativeEndian.PutUint32(b[cmsgHdrLen:], unix.SOF_TIMESTAMPING_TX_SOFTWARE)
	return unix.CmsgSpace(4)
}

// RecvErrQueue reads up to len(msgs) messages from fd's error queue without
// waiting (MSG_ERRQUEUE, MSG_DONTWAIT): with EnableTxTimestamps, one per
// datagram stamped, its control messages (at least ErrOOBLen octets) saying
// when and which. It returns how many were read, 0 and EAGAIN when the
// queue is empty.
func RecvErrQueue(fd int, msgs []Mmsghdr) (int, syscall.Errno) {
	return RecvMmsgRaw(fd, msgs, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
}

// EnablePktinfo asks the kernel to tell the destination address and
// interface of every datagram fd receives (IP_PKTINFO, or IPV6_RECVPKTINFO
// for an IPv6 socket), for ParseCmsgs: what a socket bound to a wildcard
// address needs to answer from the address it was asked at.
func EnablePktinfo(fd int, ipv6 bool) error {
	if ipv6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
			return fmt.Errorf("setsockopt IPV6_RECVPKTINFO: %w", err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil {
		return fmt.Errorf("setsockopt IP_PKTINFO: %w", err)
	}
	return nil
}

// cmsgHdrLen is sizeof(struct cmsghdr): a size_t length, then level and type.
const cmsgHdrLen = unix.SizeofCmsghdr

// cmsgAlign rounds n up as CMSG_ALIGN does (to the size of a long).
func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// ParseCmsgs walks the control messages in b (as recvmsg or recvmmsg wrote
// them) without allocating: receive timestamps (SO_TIMESTAMPNS, 64-bit and
// old forms), packet info (IP_PKTINFO, IPV6_PKTINFO) and, from the error
// queue, transmit timestamps (SCM_TIMESTAMPING's software stamp, both forms)
// with the extended error numbering the datagram (IP_RECVERR,
// IPV6_RECVERR). It reads headers
// with the native layout (the length is 8 octets on 64-bit and 4 on 32-bit
// arm) and ignores anything it does not know or that is truncated.
func ParseCmsgs(b []byte) (ci Cmsgs) {
	for len(b) >= cmsgHdrLen {
		var l int
		if cmsgHdrLen == 16 {
			l = int(binary.NativeEndian.Uint64(b))
		} else {
			l = int(binary.NativeEndian.Uint32(b))
		}
		lenOff := cmsgHdrLen - 8
		level := int32(binary.NativeEndian.Uint32(b[lenOff:]))
		typ := int32(binary.NativeEndian.Uint32(b[lenOff+4:]))
		if l < cmsgHdrLen || l > len(b) {
			return ci
		}
		data := b[cmsgHdrLen:l]
		switch {
		case level == unix.SOL_SOCKET && (typ == unix.SO_TIMESTAMPNS_NEW || typ == unix.SO_TIMESTAMPNS_OLD):
			switch len(data) {
			case 16: // __kernel_timespec, or timespec on 64-bit
				ci.RxSec = int64(binary.NativeEndian.Uint64(data))
				ci.RxNsec = int64(binary.NativeEndian.Uint64(data[8:]))
				ci.RxKnown = true
			case 8: // timespec on 32-bit
				ci.RxSec = int64(int32(binary.NativeEndian.Uint32(data)))
				ci.RxNsec = int64(int32(binary.NativeEndian.Uint32(data[4:])))
				ci.RxKnown = true
			}
		case level == unix.SOL_SOCKET && (typ == unix.SO_TIMESTAMPING_NEW || typ == unix.SO_TIMESTAMPING_OLD):
			// Three stamps (software, deprecated, hardware): the first.
			switch len(data) {
			case 48:
				ci.StampSec = int64(binary.NativeEndian.Uint64(data))
				ci.StampNsec = int64(binary.NativeEndian.Uint64(data[8:]))
				ci.StampKnown = ci.StampSec|ci.StampNsec != 0
			case 24:
				ci.StampSec = int64(int32(binary.NativeEndian.Uint32(data)))
				ci.StampNsec = int64(int32(binary.NativeEndian.Uint32(data[4:])))
				ci.StampKnown = ci.StampSec|ci.StampNsec != 0
			}
		case (level == unix.IPPROTO_IP && typ == unix.IP_RECVERR || level == unix.IPPROTO_IPV6 && typ == unix.IPV6_RECVERR) &&
			len(data) >= sizeofSockExtendedErr:
			// struct sock_extended_err: errno, origin, type, code, pad, info, data.
			if binary.NativeEndian.Uint32(data) == uint32(unix.ENOMSG) && data[4] == unix.SO_EE_ORIGIN_TIMESTAMPING &&
				binary.NativeEndian.Uint32(data[8:]) == unix.SCM_TSTAMP_SND {
				ci.TxID = binary.NativeEndian.Uint32(data[12:])
				ci.TxIDKnown = true
			}
		case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's destination).
			ci.Ifindex = binary.NativeEndian.Uint32(data)
			ci.Dst = netip.AddrFrom4([4]byte(data[8:12]))
			ci.DstKnown = true
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex.
			ci.Dst = netip.AddrFrom16([16]byte(data[:16]))
			ci.Ifindex = binary.NativeEndian.Uint32(data[16:])
			ci.DstKnown = true
		}
		next := cmsgAlign(l)
		if next >= len(b) {
			return ci
		}
		b = b[next:]
	}
	return ci
}

// putCmsgHdr writes a control message header for datalen octets of data.
func putCmsgHdr(b []byte, level, typ int32, datalen int) {
	l := cmsgHdrLen + datalen
	if cmsgHdrLen == 16 {
		binary.NativeEndian.PutUint64(b, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(l))
	}
	binary.NativeEndian.PutUint32(b[cmsgHdrLen-8:], uint32(level))
	binary.NativeEndian.PutUint32(b[cmsgHdrLen-4:], uint32(typ))
}

// PutPktinfo4 writes into b (at least SendOOBLen octets) an IP_PKTINFO
// control message choosing src as the source address of an IPv4 datagram
// sent (spec_dst), on any interface, and returns its length in octets.
func PutPktinfo4(b []byte, src netip.Addr) int {
	putCmsgHdr(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	d := b[cmsgHdrLen : cmsgHdrLen+unix.SizeofInet4Pktinfo]
	clear(d)
	a := src.Unmap().As4()
	copy(d[4:8], a[:])
	return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// PutPktinfo6 writes into b (at least SendOOBLen octets) an IPV6_PKTINFO
// control message choosing src as the source address of an IPv6 datagram
// sent, on interface ifindex (needed for link-local addresses; 0: any), and
// returns its length in octets.
func PutPktinfo6(b []byte, src netip.Addr, ifindex uint32) int {
	putCmsgHdr(b, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	d := b[cmsgHdrLen : cmsgHdrLen+unix.SizeofInet6Pktinfo]
	a := src.As16()
	copy(d[:16], a[:])
	binary.NativeEndian.PutUint32(d[16:], ifindex)
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}

// AddrFromRaw returns the IPv4 or IPv6 address in sa, a socket address of
// namelen octets as the kernel wrote it (recvmsg's msg_name); false for
// another family or a short address. The zone of an IPv6 address is not
// filled in.
func AddrFromRaw(sa *unix.RawSockaddrInet6, namelen uint32) (netip.Addr, bool) {
	switch sa.Family {
	case unix.AF_INET:
		if namelen < unix.SizeofSockaddrInet4 {
			return netip.Addr{}, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrFrom4(sa4.Addr), true
	case unix.AF_INET6:
		if namelen < unix.SizeofSockaddrInet6 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16(sa.Addr), true
	}
	return netip.Addr{}, false
}

// SockaddrFromAddrPort returns the socket address of ap for bind(2) or
// connect(2): IPv4 (a *unix.SockaddrInet4) for an IPv4 or IPv4-mapped
// address, IPv6 otherwise, its zone (an interface name or index) as the
// scope id. It fails only for a zone naming no interface.
func SockaddrFromAddrPort(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	if !a.Is6() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, nil
	}
	sa6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if n, err := strconv.Atoi(z); err == nil {
			sa6.ZoneId = uint32(n)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa6.ZoneId = uint32(ifi.Index)
		} else {
			return nil, fmt.Errorf("zone %q: %w", z, err)
		}
	}
	return sa6, nil
}

// AddrPortFromSockaddr returns the address and port of sa as
// getsockname(2) or recvfrom(2) give it (an IPv6 scope id becomes a
// numeric zone); the zero AddrPort for a family other than IPv4 and IPv6.
func AddrPortFromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if a.ZoneId != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(a.ZoneId), 10))
		}
		return netip.AddrPortFrom(ip, uint16(a.Port))
	}
	return netip.AddrPort{}
}

// sizeofSockExtendedErr is sizeof(struct sock_extended_err).
const sizeofSockExtendedErr = int(unsafe.Sizeof(unix.SockExtendedErr{}))
