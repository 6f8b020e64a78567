package loadgen

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is the kernel's struct mmsghdr (Go pads it to msghdr's alignment,
// as C does, on 32- and 64-bit alike).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batch is a reusable vector for sendmmsg/recvmmsg: no allocation per call
// and no source address parsed per message (the sockets are connected).
type batch struct {
	hdrs []mmsghdr
	iovs []unix.Iovec
	bufs [][]byte
}

func newBatch(n, size int) *batch {
	b := &batch{hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n)}
	for i := range n {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.SetIovlen(1)
	}
	return b
}

// msg returns the bytes message i received.
func (b *batch) msg(i int) []byte { return b.bufs[i][:b.hdrs[i].n] }

// sock is one connected client socket.
type sock struct {
	u  *net.UDPConn
	rc syscall.RawConn
	fd int // valid while u is open
}

func newSock(u *net.UDPConn) (*sock, error) {
	rc, err := u.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("loadgen: raw socket: %w", err)
	}
	s := &sock{u: u, rc: rc, fd: -1}
	if err := rc.Control(func(fd uintptr) { s.fd = int(fd) }); err != nil {
		return nil, fmt.Errorf("loadgen: raw socket: %w", err)
	}
	return s, nil
}

// recvNow reads what is queued (up to len(b.hdrs)) with one non-blocking
// recvmmsg on the raw descriptor, for the open loop's single goroutine,
// which polls instead of parking in the netpoller.
func (s *sock) recvNow(b *batch) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
		return 0, nil
	}
	if e != 0 {
		return 0, fmt.Errorf("recvmmsg: %w", e)
	}
	return int(r), nil
}

// sendNow writes the first n messages of b with one non-blocking sendmmsg
// and returns how many the kernel took.
func (s *sock) sendNow(b *batch, n int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, fmt.Errorf("sendmmsg: %w", e)
	}
	return int(r), nil
}

// poller tells which sockets have replies queued, so the open loop makes
// one epoll_wait instead of an empty recvmmsg per idle socket.
type poller struct {
	epfd   int
	events []unix.EpollEvent
}

func newPoller(cs []*sock) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("loadgen: epoll_create1: %w", err)
	}
	for i, s := range cs {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)} // level-triggered; Fd carries the index
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			unix.Close(epfd)
			return nil, fmt.Errorf("loadgen: epoll_ctl: %w", err)
		}
	}
	return &poller{epfd: epfd, events: make([]unix.EpollEvent, len(cs))}, nil
}

// ready waits up to msec milliseconds (0: not at all) and calls f with the
// index of each socket that has data.
func (p *poller) ready(msec int, f func(i int)) error {
	n, err := unix.EpollWait(p.epfd, p.events, msec)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return nil
		}
		return fmt.Errorf("loadgen: epoll_wait: %w", err)
	}
	for _, ev := range p.events[:n] {
		f(int(ev.Fd))
	}
	return nil
}

func (p *poller) close() { unix.Close(p.epfd) }

// recv reads up to len(b.hdrs) datagrams with one recvmmsg. With wait it
// blocks (in the netpoller, honouring the read deadline) until at least one
// arrives; without, it returns 0 at once when none is queued.
func (s *sock) recv(b *batch, wait bool) (int, error) {
	var n int
	var errno error
	err := s.rc.Read(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			errno = e
			return !(wait && (e == unix.EAGAIN || e == unix.EWOULDBLOCK))
		}
		n, errno = int(r), nil
		return true
	})
	if err != nil {
		return 0, err
	}
	if errno != nil {
		if errors.Is(errno, unix.EAGAIN) {
			return 0, nil
		}
		return 0, fmt.Errorf("recvmmsg: %w", errno)
	}
	return n, nil
}

// send writes the first n messages of b with one sendmmsg (waiting while the
// socket buffer is full) and returns how many the kernel took.
func (s *sock) send(b *batch, n int) (int, error) {
	var k int
	var errno error
	err := s.rc.Write(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(n), 0, 0, 0)
		if e != 0 {
			errno = e
			return !(e == unix.EAGAIN || e == unix.EWOULDBLOCK)
		}
		k, errno = int(r), nil
		return true
	})
	if err != nil {
		return 0, err
	}
	if errno != nil {
		return 0, fmt.Errorf("sendmmsg: %w", errno)
	}
	return k, nil
}

// setRecvBuf asks for n bytes of receive buffer, past rmem_max when
// privileged (SO_RCVBUFFORCE); a refusal only means a smaller buffer.
func setRecvBuf(u *net.UDPConn, n int) {
	_ = u.SetReadBuffer(n)
	if rc, err := u.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		})
	}
}
