package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/ntptime"
	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr (recvmmsg(2)): a msghdr and the length the
// kernel moved. Go pads it like C on every architecture (64 octets on
// 64-bit, 32 on 32-bit arm), which TestMmsghdrLayout pins.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Buffer sizes. recvBufLen holds any request worth parsing (NTS requests
// with cookies are under 1 KiB); longer ones arrive truncated and are
// dropped as malformed. recvOOBLen holds a timestamp and a packet-info
// control message.
const (
	recvBufLen = 2048
	recvOOBLen = 128
	sendOOBLen = 64
)

// socket is one bound UDP socket.
type socket struct {
	conn     *net.UDPConn
	raw      syscall.RawConn
	local    netip.AddrPort
	wildcard bool // bound to 0.0.0.0 or ::, so replies name their source with packet info
	is6      bool
	tsNew    bool  // SO_TIMESTAMPNS_NEW (64-bit time on 32-bit arm) rather than the old form
	tsErr    error // why there are no kernel receive timestamps (nil: there are)
}

// timestampErr says why the socket has no kernel receive timestamps, if so.
func (s *socket) timestampErr() error { return s.tsErr }

func (s *socket) close() error {
	err := s.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// listenSocket binds one UDP socket to ap with SO_REUSEPORT, kernel receive
// timestamps and, for wildcard addresses, packet info.
func listenSocket(ap netip.AddrPort) (*socket, error) {
	sk := &socket{is6: ap.Addr().Is6() && !ap.Addr().Is4In6(), wildcard: ap.Addr().IsUnspecified()}
	network := "udp4"
	if sk.is6 {
		network = "udp6" // Go sets IPV6_V6ONLY: IPv4 has its own sockets
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = sk.setOptions(int(fd)) }); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, err
	}
	sk.conn = pc.(*net.UDPConn)
	if sk.raw, err = sk.conn.SyscallConn(); err != nil {
		sk.conn.Close()
		return nil, fmt.Errorf("SyscallConn: %w", err)
	}
	sk.local = sk.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if !sk.is6 {
		sk.local = netip.AddrPortFrom(sk.local.Addr().Unmap(), sk.local.Port())
	}
	return sk, nil
}

func (s *socket) setOptions(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fmt.Errorf("setsockopt SO_REUSEPORT: %w", err)
	}
	// 64-bit timestamps where the kernel has them (Linux 5.1+), so 32-bit
	// arm is safe past 2038; the old form otherwise.
	// Without either (qemu-user, odd kernels) the server still works,
	// stamping receipt in user space after recvmmsg: worse, not fatal.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1); err == nil {
		s.tsNew = true
	} else if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, 1); err != nil {
		s.tsErr = fmt.Errorf("setsockopt SO_TIMESTAMPNS: %w", err)
	}
	if s.wildcard {
		if s.is6 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
				return fmt.Errorf("setsockopt IPV6_RECVPKTINFO: %w", err)
			}
		} else if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil {
			return fmt.Errorf("setsockopt IP_PKTINFO: %w", err)
		}
	}
	// A deeper queue absorbs bursts; the kernel caps it at rmem_max, and a
	// refusal only costs burst tolerance.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	return nil
}

// worker serves one socket: it owns every buffer it uses, allocated once.
type worker struct {
	s     *Server
	sk    *socket
	c     *counters
	batch int

	rbuf  []byte // batch * recvBufLen
	roob  []byte // batch * recvOOBLen
	names []unix.RawSockaddrInet6
	riov  []unix.Iovec
	rmsgs []mmsghdr

	sbuf  []byte // batch * HeaderLen
	soob  []byte // batch * sendOOBLen
	siov  []unix.Iovec
	smsgs []mmsghdr
	sact  []action

	ctlData []byte // mode 6 reply data
	ctlFrag []byte // one mode 6 fragment
	ctlOOB  [sendOOBLen]byte
	ctlIov  unix.Iovec
	ctlMsg  unix.Msghdr

	recvFn, sendFn, ctlFn func(fd uintptr) bool
	nrecv                 int
	sendFrom, sendTo      int
	nsent                 int
	errno                 syscall.Errno
}

func newWorker(s *Server, sk *socket, c *counters) *worker {
	b := s.cfg.BatchSize
	w := &worker{
		s: s, sk: sk, c: c, batch: b,
		rbuf: make([]byte, b*recvBufLen), roob: make([]byte, b*recvOOBLen),
		names: make([]unix.RawSockaddrInet6, b), riov: make([]unix.Iovec, b), rmsgs: make([]mmsghdr, b),
		sbuf: make([]byte, b*HeaderLen), soob: make([]byte, b*sendOOBLen),
		siov: make([]unix.Iovec, b), smsgs: make([]mmsghdr, b), sact: make([]action, b),
		ctlData: make([]byte, 0, 4096), ctlFrag: make([]byte, controlMaxFrag),
	}
	for i := range b {
		w.riov[i].Base = &w.rbuf[i*recvBufLen]
		w.riov[i].SetLen(recvBufLen)
		h := &w.rmsgs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&w.names[i]))
		h.Iov = &w.riov[i]
		h.SetIovlen(1)
		h.Control = &w.roob[i*recvOOBLen]
		w.siov[i].Base = &w.sbuf[i*HeaderLen]
		w.siov[i].SetLen(HeaderLen)
		w.smsgs[i].hdr.Iov = &w.siov[i]
		w.smsgs[i].hdr.SetIovlen(1)
	}
	w.ctlIov.Base = &w.ctlFrag[0]
	w.ctlMsg.Iov = &w.ctlIov
	w.ctlMsg.SetIovlen(1)
	// Method values made once: handing them to RawConn.Read/Write then
	// costs no allocation per call.
	w.recvFn, w.sendFn, w.ctlFn = w.doRecv, w.doSend, w.doSendControl
	return w
}

// doRecv runs recvmmsg without blocking; false asks the poller to wait.
func (w *worker) doRecv(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&w.rmsgs[0])), uintptr(w.batch), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.nrecv, w.errno = int(r), e
		return true
	}
}

// doSend runs sendmmsg on smsgs[sendFrom:sendTo] without blocking.
func (w *worker) doSend(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.smsgs[w.sendFrom])), uintptr(w.sendTo-w.sendFrom), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.nsent, w.errno = int(r), e
		return true
	}
}

// doSendControl sends the mode 6 fragment described by ctlMsg.
func (w *worker) doSendControl(fd uintptr) bool {
	for {
		_, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&w.ctlMsg)), unix.MSG_DONTWAIT)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.errno = e
		return true
	}
}

// run serves until the socket is closed (nil) or fails.
func (w *worker) run() error {
	last := w.batch
	for {
		for i := range last {
			h := &w.rmsgs[i].hdr
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(recvOOBLen)
			h.Flags = 0
			w.rmsgs[i].len = 0
		}
		if err := w.sk.raw.Read(w.recvFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("recvmmsg: %w", err)
		}
		if w.errno != 0 {
			// Out of kernel memory is transient: the datagrams stay queued.
			// Anything else means the socket is broken.
			if w.errno == unix.ENOMEM || w.errno == unix.ENOBUFS {
				last = 0
				continue
			}
			return fmt.Errorf("recvmmsg: %w", w.errno)
		}
		last = w.nrecv
		if err := w.serveBatch(w.nrecv); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// serveBatch answers the n datagrams just received, stamping transmit
// times right before sendmmsg.
func (w *worker) serveBatch(n int) error {
	st := w.s.state()
	mono := since(w.s.start)
	var recvNow time.Time // fallback when a datagram carries no kernel timestamp
	out := 0
	w.c.received.Add(uint64(n))
	for i := range n {
		m := &w.rmsgs[i]
		if m.hdr.Flags&unix.MSG_TRUNC != 0 {
			w.c.drops[DropMalformed].Add(1)
			continue
		}
		pkt := w.rbuf[i*recvBufLen : i*recvBufLen+int(m.len)]
		src, ok := sockaddrAddr(&w.names[i], m.hdr.Namelen)
		if !ok {
			w.c.drops[DropMalformed].Add(1)
			continue
		}
		cm := parseCmsgs(w.roob[i*recvOOBLen : i*recvOOBLen+int(m.hdr.Controllen)])
		dst, dstKnown := cm.dst, cm.dstKnown
		if !w.sk.wildcard {
			dst, dstKnown = w.sk.local.Addr(), true
		}
		var rx time.Time
		if cm.tsKnown {
			rx = w.s.clock.FromSystem(time.Unix(cm.sec, cm.nsec))
		} else {
			if recvNow.IsZero() {
				recvNow = w.s.clock.Now()
			}
			rx = recvNow
		}
		reply := w.sbuf[out*HeaderLen : (out+1)*HeaderLen]
		act, why := w.s.process(pkt, src, dst, dstKnown, rx, mono, st, reply)
		switch act {
		case actDrop:
			w.c.drops[why].Add(1)
			continue
		case actControl:
			w.serveControl(pkt, i, &cm, st)
			continue
		}
		sm := &w.smsgs[out].hdr
		sm.Name, sm.Namelen = m.hdr.Name, m.hdr.Namelen
		w.setSendOOB(sm, w.soob[out*sendOOBLen:(out+1)*sendOOBLen], &cm)
		w.sact[out] = act
		out++
	}
	if out == 0 {
		return nil
	}
	tx := ntptime.FromTime(w.s.clock.Now())
	for j := range out {
		if w.sact[j] == actAnswer {
			putTransmitTime(w.sbuf[j*HeaderLen:(j+1)*HeaderLen], tx)
		}
	}
	for w.sendFrom, w.sendTo = 0, out; w.sendFrom < w.sendTo; {
		if err := w.sk.raw.Write(w.sendFn); err != nil {
			return fmt.Errorf("sendmmsg: %w", err)
		}
		if w.errno != 0 {
			// The first message failed (e.g. no route): count it, go on.
			w.c.drops[DropSendError].Add(1)
			w.sendFrom++
			continue
		}
		for j := w.sendFrom; j < w.sendFrom+w.nsent; j++ {
			if w.sact[j] == actKoD {
				w.c.kod.Add(1)
			} else {
				w.c.answered.Add(1)
			}
		}
		w.sendFrom += w.nsent
	}
	return nil
}

// serveControl answers a mode 6 request from loopback, fragment by fragment.
func (w *worker) serveControl(pkt []byte, i int, cm *cmsgInfo, st *discipline.SyncState) {
	r, ok := buildControl(pkt, st, w.s.clock.Now(), &w.s.control, w.ctlData)
	if !ok {
		w.c.drops[DropControlBad].Add(1)
		return
	}
	for f := range r.fragments() {
		n := r.fragment(f, w.ctlFrag)
		w.ctlIov.SetLen(n)
		w.ctlMsg.Name, w.ctlMsg.Namelen = w.rmsgs[i].hdr.Name, w.rmsgs[i].hdr.Namelen
		w.setSendOOB(&w.ctlMsg, w.ctlOOB[:], cm)
		if err := w.sk.raw.Write(w.ctlFn); err != nil || w.errno != 0 {
			w.c.drops[DropSendError].Add(1)
			return
		}
	}
	w.c.control.Add(1)
}

// setSendOOB names the reply's source address with packet info when the
// socket is bound to a wildcard address, so a multi-homed host answers from
// the address the request was sent to.
func (w *worker) setSendOOB(h *unix.Msghdr, oob []byte, cm *cmsgInfo) {
	h.Control = nil
	h.SetControllen(0)
	if !w.sk.wildcard || !cm.dstKnown || cm.dst.IsMulticast() {
		return
	}
	var n int
	if w.sk.is6 {
		n = putPktinfo6(oob, cm.dst, cm.ifindex)
	} else {
		n = putPktinfo4(oob, cm.dst)
	}
	h.Control = &oob[0]
	h.SetControllen(n)
}

// sockaddrAddr reads the source address the kernel wrote into sa.
func sockaddrAddr(sa *unix.RawSockaddrInet6, namelen uint32) (netip.Addr, bool) {
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

// cmsgInfo is what the control messages of one datagram said.
type cmsgInfo struct {
	sec, nsec int64
	tsKnown   bool
	dst       netip.Addr
	dstKnown  bool
	ifindex   uint32
}

// cmsgHdrLen is sizeof(struct cmsghdr): a size_t length, then level and type.
const cmsgHdrLen = unix.SizeofCmsghdr

// cmsgAlign rounds n up as CMSG_ALIGN does (to the size of a long).
func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// parseCmsgs walks the control messages in b without allocating. It reads
// headers with the native layout (the length is 8 octets on 64-bit and 4 on
// 32-bit arm) and ignores anything it does not know or that is truncated.
func parseCmsgs(b []byte) (ci cmsgInfo) {
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
				ci.sec = int64(binary.NativeEndian.Uint64(data))
				ci.nsec = int64(binary.NativeEndian.Uint64(data[8:]))
				ci.tsKnown = true
			case 8: // timespec on 32-bit
				ci.sec = int64(int32(binary.NativeEndian.Uint32(data)))
				ci.nsec = int64(int32(binary.NativeEndian.Uint32(data[4:])))
				ci.tsKnown = true
			}
		case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's destination).
			ci.ifindex = binary.NativeEndian.Uint32(data)
			ci.dst = netip.AddrFrom4([4]byte(data[8:12]))
			ci.dstKnown = true
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex.
			ci.dst = netip.AddrFrom16([16]byte(data[:16]))
			ci.ifindex = binary.NativeEndian.Uint32(data[16:])
			ci.dstKnown = true
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

// putPktinfo4 writes an IP_PKTINFO message choosing src as the source
// address (spec_dst), any interface; it returns its space.
func putPktinfo4(b []byte, src netip.Addr) int {
	putCmsgHdr(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	d := b[cmsgHdrLen : cmsgHdrLen+unix.SizeofInet4Pktinfo]
	clear(d)
	a := src.Unmap().As4()
	copy(d[4:8], a[:])
	return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// putPktinfo6 writes an IPV6_PKTINFO message choosing src as the source
// address on interface ifindex (needed for link-local addresses).
func putPktinfo6(b []byte, src netip.Addr, ifindex uint32) int {
	putCmsgHdr(b, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	d := b[cmsgHdrLen : cmsgHdrLen+unix.SizeofInet6Pktinfo]
	a := src.As16()
	copy(d[:16], a[:])
	binary.NativeEndian.PutUint32(d[16:], ifindex)
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}
