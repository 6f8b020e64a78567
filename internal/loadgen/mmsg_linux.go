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
}

func newSock(u *net.UDPConn) (*sock, error) {
	rc, err := u.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("loadgen: raw socket: %w", err)
	}
	return &sock{u: u, rc: rc}, nil
}

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
