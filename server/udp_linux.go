package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
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

// sendChunk is the most replies one sendmmsg carries, each chunk with its
// own transmit time: a receive batch can be long (Config.BatchSize) to save
// recvmmsg calls, while a reply's transmit stamp stays within some 16 sends
// (tens of µs) of its departure.
const sendChunk = 16

// socket is one bound UDP socket. Its descriptor is blocking and kept out
// of Go's netpoller on purpose: a descriptor in an epoll set has a waiter on
// its wait queue for good, so every reply the kernel frees (on loopback,
// right inside sendmmsg) runs the epoll callback through sock_wfree; that was
// a fifth of the server's CPU under load. A worker blocks in recvmmsg
// instead, and is on the wait queue only while there is nothing to read.
type socket struct {
	fd       int
	local    netip.AddrPort
	wildcard bool // bound to 0.0.0.0 or ::, so replies name their source with packet info
	is6      bool
	tsNew    bool  // SO_TIMESTAMPNS_NEW (64-bit time on 32-bit arm) rather than the old form
	tsErr    error // why there are no kernel receive timestamps (nil: there are)

	done   atomic.Bool // close was called: workers stop
	mu     sync.Mutex
	users  int  // workers between acquire and release
	closed bool // fd closed (or being closed by the last user)
}

// ioTimeout bounds every blocking socket call (SO_RCVTIMEO, SO_SNDTIMEO), so
// a worker sees close even if the shutdown wake-up were lost.
const ioTimeout = 500 * time.Millisecond

// timestampErr says why the socket has no kernel receive timestamps, if so.
func (s *socket) timestampErr() error { return s.tsErr }

// acquire registers a worker; false if the socket is already closed.
func (s *socket) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done.Load() {
		return false
	}
	s.users++
	return true
}

// release unregisters a worker, closing the descriptor if close came first.
func (s *socket) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.done.Load() && s.users == 0 && !s.closed {
		s.closed = true
		unix.Close(s.fd)
	}
}

// close stops the socket: workers blocked in recvmmsg are woken by
// shutdown(2) (which on UDP wakes readers and fails with ENOTCONN, ignored),
// and the descriptor is closed once no worker uses it, so it is never
// reused under a running system call.
func (s *socket) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done.Swap(true) {
		return nil
	}
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	if s.users > 0 {
		return nil
	}
	s.closed = true
	if err := unix.Close(s.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// listenSocket binds one UDP socket to ap with SO_REUSEPORT, kernel receive
// timestamps and, for wildcard addresses, packet info.
func listenSocket(ap netip.AddrPort) (*socket, error) {
	sk := &socket{is6: ap.Addr().Is6() && !ap.Addr().Is4In6(), wildcard: ap.Addr().IsUnspecified()}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if sk.is6 {
		family = unix.AF_INET6
		sa6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		if z := ap.Addr().Zone(); z != "" {
			if n, err := strconv.Atoi(z); err == nil {
				sa6.ZoneId = uint32(n)
			} else if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			} else {
				return nil, fmt.Errorf("zone %q: %w", z, err)
			}
		}
		sa = sa6
	} else {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	sk.fd = fd
	if err := sk.setOptions(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		sk.local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		sk.local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).WithZone(ap.Addr().Zone()), uint16(a.Port))
	}
	return sk, nil
}

func (s *socket) setOptions(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fmt.Errorf("setsockopt SO_REUSEPORT: %w", err)
	}
	if s.is6 {
		// IPv4 has its own sockets.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
		}
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
	tv := unix.NsecToTimeval(int64(ioTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setsockopt SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("setsockopt SO_SNDTIMEO: %w", err)
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

	sbuf  []byte // batch * ntp.HeaderLen
	soob  []byte // batch * sendOOBLen
	siov  []unix.Iovec
	smsgs []mmsghdr
	sact  []action

	ctlData []byte // mode 6 reply data
	ctlFrag []byte // one mode 6 fragment
	ctlOOB  [sendOOBLen]byte
	ctlIov  unix.Iovec
	ctlMsg  unix.Msghdr
}

func newWorker(s *Server, sk *socket, c *counters) *worker {
	b := s.cfg.BatchSize
	w := &worker{
		s: s, sk: sk, c: c, batch: b,
		rbuf: make([]byte, b*recvBufLen), roob: make([]byte, b*recvOOBLen),
		names: make([]unix.RawSockaddrInet6, b), riov: make([]unix.Iovec, b), rmsgs: make([]mmsghdr, b),
		sbuf: make([]byte, b*ntp.HeaderLen), soob: make([]byte, b*sendOOBLen),
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
		w.siov[i].Base = &w.sbuf[i*ntp.HeaderLen]
		w.siov[i].SetLen(ntp.HeaderLen)
		w.smsgs[i].hdr.Iov = &w.siov[i]
		w.smsgs[i].hdr.SetIovlen(1)
	}
	w.ctlIov.Base = &w.ctlFrag[0]
	w.ctlMsg.Iov = &w.ctlIov
	w.ctlMsg.SetIovlen(1)
	return w
}

// errClosed ends a worker whose socket was closed.
var errClosed = errors.New("socket closed")

// recv reads up to a batch into rmsgs and returns how many arrived (0 once
// the socket is closed). While datagrams are queued it is one recvmmsg that
// cannot sleep, made without telling the scheduler (as the runtime's own
// non-blocking calls are); only when the queue is empty does it block, as an
// ordinary system call, until one arrives (MSG_WAITFORONE: then it takes
// what is queued and returns).
func (w *worker) recv() (int, syscall.Errno) {
	fd, msgs, n := uintptr(w.sk.fd), uintptr(unsafe.Pointer(&w.rmsgs[0])), uintptr(w.batch)
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, msgs, n, unix.MSG_DONTWAIT, 0, 0)
	for e == unix.EAGAIN || e == unix.EINTR {
		if w.sk.done.Load() {
			return 0, 0
		}
		r, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, msgs, n, unix.MSG_WAITFORONE, 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// send writes smsgs[from:to] and returns how many the kernel took: first
// without sleeping (the usual case: UDP sends do not wait), then, if the
// send buffer is full, waiting for room as an ordinary system call.
func (w *worker) send(from, to int) (int, syscall.Errno) {
	fd, msgs, n := uintptr(w.sk.fd), uintptr(unsafe.Pointer(&w.smsgs[from])), uintptr(to-from)
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, msgs, n, unix.MSG_DONTWAIT, 0, 0)
	for e == unix.EAGAIN || e == unix.EINTR {
		if w.sk.done.Load() {
			return 0, e
		}
		r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, fd, msgs, n, 0, 0, 0)
	}
	return int(r), e
}

// run serves until the socket is closed (nil) or fails.
func (w *worker) run() error {
	if !w.sk.acquire() {
		return nil
	}
	defer w.sk.release()
	last := w.batch
	for !w.sk.done.Load() {
		for i := range last {
			h := &w.rmsgs[i].hdr
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(recvOOBLen)
			h.Flags = 0
			w.rmsgs[i].len = 0
		}
		n, errno := w.recv()
		switch {
		case errno == unix.ENOMEM || errno == unix.ENOBUFS:
			// Out of kernel memory is transient: the datagrams stay queued.
			last = 0
			continue
		case errno != 0:
			if w.sk.done.Load() {
				return nil
			}
			// Anything else means the socket is broken.
			return fmt.Errorf("recvmmsg: %w", errno)
		}
		last = n
		if n == 0 {
			continue // closed (the loop condition sees it), or shut down
		}
		if err := w.serveBatch(n); err != nil {
			if err == errClosed {
				return nil
			}
			return err
		}
	}
	return nil
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
		reply := w.sbuf[out*ntp.HeaderLen : (out+1)*ntp.HeaderLen]
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
	var answered, kod uint64
	for from := 0; from < out; {
		// Stamp transmit times a chunk at a time, right before the chunk
		// goes: a reply leaves at most sendChunk sends after its stamp.
		to := min(from+sendChunk, out)
		tx := ntp.FromTime(w.s.clock.Now())
		for j := from; j < to; j++ {
			if w.sact[j] == actAnswer {
				ntp.PutTransmitTime(w.sbuf[j*ntp.HeaderLen:(j+1)*ntp.HeaderLen], tx)
			}
		}
		sent, errno := w.send(from, to)
		if errno != 0 || sent <= 0 {
			if w.sk.done.Load() {
				break
			}
			// The first message failed (e.g. no route): count it, go on.
			w.c.drops[DropSendError].Add(1)
			from++
			continue
		}
		for j := from; j < from+sent; j++ {
			if w.sact[j] == actKoD {
				kod++
			} else {
				answered++
			}
		}
		from += sent
	}
	w.c.answered.Add(answered)
	if kod != 0 {
		w.c.kod.Add(kod)
	}
	if w.sk.done.Load() {
		return errClosed
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
		if _, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(w.sk.fd), uintptr(unsafe.Pointer(&w.ctlMsg)), 0); e != 0 {
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
