package loadgen

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/gnomon-ntp/gnomon/udpio"
	"golang.org/x/sys/unix"
)

// batch is a reusable vector for sendmmsg/recvmmsg: no allocation per call
// and no source address parsed per message (the sockets are connected).
type batch = udpio.Batch

func newBatch(n, size int) *batch { return udpio.NewBatch(n, size, 0, false) }

// newRecvBatch is a batch for receiving with control messages (the
// kernel's receive stamps).
func newRecvBatch(n, size int) *batch { return udpio.NewBatch(n, size, udpio.RecvOOBLen, false) }

// enableRxStamps asks for kernel receive stamps on u (for the
// transmit-stamp lag); without them the lag is not measured.
func enableRxStamps(u *net.UDPConn) {
	if rc, err := u.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = udpio.EnableRxTimestamps(int(fd)) })
	}
}

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
	b.ResetRecv(len(b.Msgs))
	n, e := udpio.RecvMmsg(s.fd, b.Msgs, unix.MSG_DONTWAIT)
	if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
		return 0, nil
	}
	if e != 0 {
		return 0, fmt.Errorf("recvmmsg: %w", e)
	}
	return n, nil
}

// sendNow writes the first n messages of b with one non-blocking sendmmsg
// and returns how many the kernel took.
func (s *sock) sendNow(b *batch, n int) (int, error) {
	k, e := udpio.SendMmsg(s.fd, b.Msgs[:n], unix.MSG_DONTWAIT)
	if e != 0 {
		return 0, fmt.Errorf("sendmmsg: %w", e)
	}
	return k, nil
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
		b.ResetRecv(len(b.Msgs))
		r, e := udpio.RecvMmsg(int(fd), b.Msgs, unix.MSG_DONTWAIT)
		if e != 0 {
			errno = e
			return !(wait && (e == unix.EAGAIN || e == unix.EWOULDBLOCK))
		}
		n, errno = r, nil
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
		r, e := udpio.SendMmsg(int(fd), b.Msgs[:n], 0)
		if e != 0 {
			errno = e
			return !(e == unix.EAGAIN || e == unix.EWOULDBLOCK)
		}
		k, errno = r, nil
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
