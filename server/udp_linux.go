package server

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/udpio"
)

// recvBufLen holds any request worth parsing (NTS requests with cookies
// are under 1 KiB); longer ones arrive truncated and are dropped as
// malformed.
const recvBufLen = 2048

// sendChunk is the most replies one sendmmsg carries, each chunk with its
// own transmit time read right before it goes. One: every reply's transmit
// timestamp is written immediately before its own send, so it lags the
// kernel's stamp of its departure by well under a microsecond (p99 0.5-0.8
// µs on loopback, make bench-server). Chunks of 16, with the lag of each
// position learnt from the kernel's stamps, answered some 10% more per core
// but left p99 lags of 16-27 µs and tails of milliseconds: a reply queued
// behind others in one sendmmsg leaves as late as the kernel makes it.
const sendChunk = 1

// stampEvery is how often a reply asks for a kernel transmit stamp when it
// is not saved for interleaved mode: enough to keep the learnt lag and the
// lag figures current, while a stamp costs about a microsecond of the
// kernel's and the worker's time, too dear for every reply.
const stampEvery = 16

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
	tsErr    error // why there are no kernel receive timestamps (nil: there are)
	txErr    error // why there are no kernel transmit timestamps (nil: there are)

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
	sa, err := udpio.SockaddrFromAddrPort(ap)
	if err != nil {
		return nil, err
	}
	family := unix.AF_INET
	if sk.is6 {
		family = unix.AF_INET6
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
	// The zone as given (a name stays a name); WithZone leaves IPv4 alone.
	local := udpio.AddrPortFromSockaddr(got)
	sk.local = netip.AddrPortFrom(local.Addr().WithZone(ap.Addr().Zone()), local.Port())
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
	// Without kernel timestamps (qemu-user, odd kernels) the server still
	// works, stamping receipt in user space after recvmmsg: worse, not
	// fatal.
	_, s.tsErr = udpio.EnableRxTimestamps(fd)
	// Kernel transmit stamps, read back from the error queue after every
	// batch: they calibrate the transmit timestamps written and are the
	// precise transmit times of interleaved mode. Without them, replies
	// are stamped from the clock alone and interleaved requests answered
	// with the daemon's stamp.
	s.txErr = udpio.EnableTxTimestamps(fd)
	if s.wildcard {
		if err := udpio.EnablePktinfo(fd, s.is6); err != nil {
			return err
		}
	}
	tv := unix.NsecToTimeval(int64(ioTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setsockopt SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("setsockopt SO_SNDTIMEO: %w", err)
	}
	// A short receive queue: a request that waits behind a long queue is
	// answered correctly but late, and a reply milliseconds late is one its
	// client's delay filter throws away, while a dropped one is simply
	// asked again. Under a burst beyond the worker's rate every request
	// behind the queue's head waits as long as the queue is deep: with 4
	// MiB (some 8000 requests here), the tails reached 3-11 ms p99 at
	// 250-350k requests/s where chronyd, on the kernel's default 208 KiB,
	// dropped 0.5-1.2% and kept 0.6-0.9 ms. So the queue is that default,
	// set explicitly so that a host's raised rmem_default does not deepen
	// it (the kernel doubles the value asked for, as bookkeeping headroom).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, recvQueueBytes/2)
	return nil
}

// recvQueueBytes is each socket's receive queue (SO_RCVBUF as the kernel
// keeps it): about 1 ms of requests at the worker's full rate on this
// project's test machines, more on a slower board.
const recvQueueBytes = 212992

// worker serves one socket: it owns every buffer it uses, allocated once.
type worker struct {
	s     *Server
	sk    *socket
	c     *counters
	batch int

	rb   *udpio.Batch // requests, with their sources and control messages
	sb   *udpio.Batch // replies, addressed to rb's sources
	sact []action

	ctlData []byte       // mode 6 reply data
	ctl     *udpio.Batch // one mode 6 fragment

	sdst []netip.Addr // the client each reply goes to
	srx  []ntp.Time   // the receive timestamp each reply carries

	// Kernel transmit stamps (when w.sk.txErr is nil).
	errq    *udpio.Batch         // error-queue messages
	txSeq   uint32               // stamped datagrams sent on the socket: the next one's OPT_ID number
	stamp   []bool               // which replies of the batch ask for a kernel stamp
	replies uint64               // replies built: every stampEvery-th is stamped (its position in the chunk varies with the batches)
	ring    [txRingLen]sentReply // the replies sent last, by number modulo txRingLen
	estNs   [sendChunk]int64     // learnt lag from clock read to departure, by position in a chunk
}

// txRingLen is how many sent replies wait for their kernel stamp (a power
// of two): a stamp is read within the batch that sent it, or the next.
const txRingLen = 1024

// maxEstNs bounds the learnt lag added to a transmit timestamp; estClipNs
// is the most one kernel stamp moves it.
const (
	maxEstNs  = int64(200 * time.Microsecond)
	estClipNs = int64(500 * time.Nanosecond)
)

// sentReply is a reply waiting for its kernel transmit stamp.
type sentReply struct {
	id     uint32
	valid  bool
	save   bool  // saved for interleaved mode: update its transmit time
	pos    uint8 // position in its chunk
	readNs int64 // system clock read for its chunk, ns since the Unix epoch
	estNs  int64 // lag added to readNs in the transmit timestamp written
	addr   netip.Addr
	rx     ntp.Time // its receive timestamp, the interleaved key
}

func newWorker(s *Server, sk *socket, c *counters) *worker {
	b := s.cfg.BatchSize
	return &worker{
		s: s, sk: sk, c: c, batch: b,
		rb:      udpio.NewBatch(b, recvBufLen, udpio.RecvOOBLen, true),
		sb:      udpio.NewBatch(b, ntp.HeaderLen, udpio.SendOOBLen, false),
		sact:    make([]action, b),
		ctlData: make([]byte, 0, 4096),
		ctl:     udpio.NewBatch(1, controlMaxFrag, udpio.SendOOBLen, false),
		sdst:    make([]netip.Addr, b),
		srx:     make([]ntp.Time, b),
		stamp:   make([]bool, b),
		errq:    udpio.NewBatch(64, 1, udpio.ErrOOBLen, false),
	}
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
	n, e := udpio.RecvMmsgRaw(w.sk.fd, w.rb.Msgs, unix.MSG_DONTWAIT)
	for e == unix.EAGAIN || e == unix.EINTR {
		if w.sk.done.Load() {
			return 0, 0
		}
		n, e = udpio.RecvMmsg(w.sk.fd, w.rb.Msgs, unix.MSG_WAITFORONE)
	}
	return n, e
}

// send writes smsgs[from:to] and returns how many the kernel took: first
// without sleeping (the usual case: UDP sends do not wait), then, if the
// send buffer is full, waiting for room as an ordinary system call.
func (w *worker) send(from, to int) (int, syscall.Errno) {
	msgs := w.sb.Msgs[from:to]
	n, e := udpio.SendMmsgRaw(w.sk.fd, msgs, unix.MSG_DONTWAIT)
	for e == unix.EAGAIN || e == unix.EINTR {
		if w.sk.done.Load() {
			return 0, e
		}
		n, e = udpio.SendMmsg(w.sk.fd, msgs, 0)
	}
	return n, e
}

// run serves until the socket is closed (nil) or fails.
func (w *worker) run() error {
	if !w.sk.acquire() {
		return nil
	}
	defer w.sk.release()
	last := w.batch
	for !w.sk.done.Load() {
		w.rb.ResetRecv(last)
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
	out, stamped := 0, 0
	w.c.received.Add(uint64(n))
	for i := range n {
		if w.rb.Truncated(i) {
			w.c.drops[DropMalformed].Add(1)
			continue
		}
		pkt := w.rb.Data(i)
		src, ok := w.rb.Source(i)
		if !ok {
			w.c.drops[DropMalformed].Add(1)
			continue
		}
		cm := udpio.ParseCmsgs(w.rb.Control(i))
		dst, dstKnown := cm.Dst, cm.DstKnown
		if !w.sk.wildcard {
			dst, dstKnown = w.sk.local.Addr(), true
		}
		var rx time.Time
		if cm.RxKnown {
			rx = w.s.clock.FromSystem(cm.RxTime())
		} else {
			if recvNow.IsZero() {
				recvNow = w.s.clock.Now()
			}
			rx = recvNow
		}
		reply := w.sb.Buf(out)
		act, why := w.s.process(pkt, src, dst, dstKnown, rx, mono, st, reply)
		switch act {
		case actDrop:
			w.c.drops[why].Add(1)
			continue
		case actControl:
			w.serveControl(pkt, i, &cm, st)
			continue
		}
		w.sb.SetDest(out, w.rb, i)
		// The kernel stamps the replies saved for interleaved mode, and
		// one reply in stampEvery (a position of the chunk in turn, when
		// chunks are longer than one) to keep the learnt lags current.
		w.replies++
		stamp := w.sk.txErr == nil && (act == actSave || act == actInterleaved || w.replies%stampEvery == 0)
		if stamp {
			stamped++
		}
		w.setSendOOB(w.sb, out, &cm, stamp)
		w.stamp[out] = stamp
		w.sact[out] = act
		w.sdst[out] = src
		w.srx[out] = receiveOf(reply)
		out++
	}
	if out == 0 {
		return nil
	}
	var answered, kod, inter uint64
	for from := 0; from < out; {
		// Stamp transmit times a chunk at a time, right before the chunk
		// goes, each reply ahead by the lag its position in the chunk
		// showed lately (from the kernel's stamps): without it, a reply
		// would leave up to sendChunk sends after its stamp.
		to := min(from+sendChunk, out)
		read := time.Now()
		base := w.s.clock.FromSystem(read)
		for j := from; j < to; j++ {
			if a := w.sact[j]; a == actAnswer || a == actSave {
				putTransmit(w.sb.Buf(j), ntp.FromTime(base.Add(time.Duration(w.estNs[j-from]))))
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
			a := w.sact[j]
			switch a {
			case actKoD:
				kod++
			case actInterleaved:
				inter++
				answered++
			default:
				answered++
			}
			est := w.estNs[j-from]
			if a == actSave || a == actInterleaved {
				w.s.xleave.put(w.sdst[j], w.srx[j], ntp.FromTime(base.Add(time.Duration(est))))
			}
			if w.stamp[j] {
				w.ring[w.txSeq%txRingLen] = sentReply{id: w.txSeq, valid: true, save: a == actSave || a == actInterleaved,
					pos: uint8(j - from), readNs: read.UnixNano(), estNs: est, addr: w.sdst[j], rx: w.srx[j]}
				w.txSeq++
			}
		}
		from += sent
	}
	if stamped > 0 {
		w.readTxStamps()
	}
	w.c.answered.Add(answered)
	if inter != 0 {
		w.c.interleaved.Add(inter)
	}
	if kod != 0 {
		w.c.kod.Add(kod)
	}
	if w.sk.done.Load() {
		return errClosed
	}
	return nil
}

// readTxStamps reads the kernel's transmit stamps queued on the socket's
// error queue: each one's lag behind the transmit timestamp written is
// counted, moves the learnt lag of its position in a chunk, and, for a reply
// saved for interleaved mode, becomes its transmit time.
func (w *worker) readTxStamps() {
	for {
		w.errq.ResetRecv(len(w.errq.Msgs))
		n, e := udpio.RecvErrQueue(w.sk.fd, w.errq.Msgs)
		if e != 0 || n <= 0 {
			return
		}
		var count uint64
		lagMax := w.c.txLagMax.Load()
		for i := range n {
			cm := udpio.ParseCmsgs(w.errq.Control(i))
			if !cm.TxIDKnown || !cm.StampKnown {
				continue
			}
			r := &w.ring[cm.TxID%txRingLen]
			if !r.valid || r.id != cm.TxID {
				continue // a mode 6 fragment, or too late
			}
			r.valid = false
			count++
			raw := cm.StampSec*1e9 + cm.StampNsec - r.readNs
			lagMax = max(lagMax, raw-r.estNs)
			// Move the position's lag a quarter of the way to this one,
			// but never more than estClipNs: a stamp made late by
			// preemption or an interrupt (up to milliseconds on a busy
			// machine) moves it no more than that, and the next ones bring
			// it back.
			est := &w.estNs[r.pos]
			*est = min(max(*est+min(max((raw-*est)/4, -estClipNs), estClipNs), 0), maxEstNs)
			if r.save {
				w.s.xleave.update(r.addr, r.rx, ntp.FromTime(w.s.clock.FromSystem(cm.TxStamp())))
			}
		}
		w.c.txStamps.Add(count)
		w.c.txLagMax.Store(lagMax)
		if n < len(w.errq.Msgs) {
			return
		}
	}
}

// serveControl answers a mode 6 request from loopback, fragment by fragment.
func (w *worker) serveControl(pkt []byte, i int, cm *udpio.Cmsgs, st *discipline.SyncState) {
	r, ok := buildControl(pkt, w.s.statusSnapshot(), &w.s.control, w.ctlData)
	if !ok {
		w.c.drops[DropControlBad].Add(1)
		return
	}
	for f := range r.fragments() {
		n := r.fragment(f, w.ctl.Buf(0))
		w.ctl.SetLen(0, n)
		w.ctl.SetDest(0, w.rb, i)
		w.setSendOOB(w.ctl, 0, cm, false)
		if _, e := udpio.SendMsg(w.sk.fd, &w.ctl.Msgs[0].Hdr, 0); e != 0 {
			w.c.drops[DropSendError].Add(1)
			return
		}
	}
	w.c.control.Add(1)
}

// setSendOOB names the source address of slot i of b with packet info
// when the socket is bound to a wildcard address, so a multi-homed host
// answers from the address the request was sent to, and with stamp asks
// the kernel for the datagram's transmit stamp.
func (w *worker) setSendOOB(b *udpio.Batch, i int, cm *udpio.Cmsgs, stamp bool) {
	n := 0
	if w.sk.wildcard && cm.DstKnown && !cm.Dst.IsMulticast() {
		if w.sk.is6 {
			n = udpio.PutPktinfo6(b.OOB(i), cm.Dst, cm.Ifindex)
		} else {
			n = udpio.PutPktinfo4(b.OOB(i), cm.Dst)
		}
	}
	if stamp {
		n += udpio.PutTxStampRequest(b.OOB(i)[n:])
	}
	b.SetControl(i, n)
}
