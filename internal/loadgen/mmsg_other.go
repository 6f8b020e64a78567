//go:build !linux

package loadgen

import (
	"errors"
	"net"
)

var errUnsupported = errors.New("loadgen: sendmmsg/recvmmsg need Linux")

type batch struct{ Msgs []struct{} }

func newBatch(n, size int) *batch { return &batch{Msgs: make([]struct{}, n)} }

func (b *batch) Buf(i int) []byte { return nil }

func (b *batch) Data(i int) []byte { return nil }

type sock struct{ u *net.UDPConn }

func newSock(u *net.UDPConn) (*sock, error) { return nil, errUnsupported }

func (s *sock) recv(b *batch, wait bool) (int, error) { return 0, errUnsupported }

func (s *sock) send(b *batch, n int) (int, error) { return 0, errUnsupported }

func setRecvBuf(u *net.UDPConn, n int) {}

func (s *sock) recvNow(b *batch) (int, error) { return 0, errUnsupported }

func (s *sock) sendNow(b *batch, n int) (int, error) { return 0, errUnsupported }

type poller struct{}

func newPoller(cs []*sock) (*poller, error) { return nil, errUnsupported }

func (p *poller) ready(msec int, f func(i int)) error { return errUnsupported }

func (p *poller) close() {}

func newRecvBatch(n, size int) *batch { return newBatch(n, size) }

func enableRxStamps(u *net.UDPConn) {}

func (b *batch) Control(i int) []byte { return nil }
