//go:build !linux

package server

import (
	"errors"
	"net/netip"
)

// socket is a placeholder: serving needs Linux (recvmmsg, SO_TIMESTAMPNS).
type socket struct{ local netip.AddrPort }

func (s *socket) close() error { return nil }

func (s *socket) timestampErr() error { return nil }

func listenSocket(netip.AddrPort) (*socket, error) {
	return nil, errors.New("serving NTP needs Linux (recvmmsg, sendmmsg, SO_TIMESTAMPNS)")
}

type worker struct{}

func newWorker(*Server, *socket, *counters) *worker { return &worker{} }

func (*worker) run() error { return nil }
