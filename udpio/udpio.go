// Package udpio is gnomon's Linux datagram I/O: batches of datagrams moved
// with one recvmmsg(2) or sendmmsg(2) call and no allocation, kernel receive
// timestamps (SO_TIMESTAMPNS), kernel transmit timestamps read back from the
// socket's error queue (SO_TIMESTAMPING) and packet info (IP_PKTINFO,
// IPV6_PKTINFO) in control messages, and conversions between socket
// addresses and net/netip.
// The server, the load generator and an NTP client share it.
//
// It does no logging and starts no goroutines; every call is made on the
// caller's descriptor, in the caller's goroutine. Batches, the system-call
// wrappers and the socket-address conversions exist on Linux only;
// elsewhere EnableRxTimestamps and EnablePktinfo fail with ErrUnsupported
// and ParseCmsgs finds nothing, so a portable caller falls back to user-space
// timestamps.
package udpio

import (
	"errors"
	"net/netip"
	"time"
)

// Control buffer sizes, in octets.
const (
	// RecvOOBLen holds the control messages of one received datagram: a
	// receive timestamp and a packet-info message, and the SCM_TIMESTAMPING
	// copy of the receive timestamp the kernel adds once transmit
	// timestamps are on (EnableTxTimestamps).
	RecvOOBLen = 160
	// ErrOOBLen holds the control messages of one error-queue message
	// (EnableTxTimestamps): the SCM_TIMESTAMPING stamp, the extended error
	// with the datagram's number and the offender's address, and packet
	// info.
	ErrOOBLen = 192
	// SendOOBLen holds the packet-info message that names a reply's source
	// address (PutPktinfo4, PutPktinfo6) and a transmit-stamp request
	// (PutTxStampRequest).
	SendOOBLen = 64
	// TxStampRequestLen is the space PutTxStampRequest needs.
	TxStampRequestLen = 24
)

// ErrUnsupported is the error of EnableRxTimestamps, EnableTxTimestamps
// and EnablePktinfo where
// the system has no such socket options (anything but Linux).
var ErrUnsupported = errors.New("udpio: kernel timestamps and packet info need Linux")

// Cmsgs is what the control messages of one received datagram said.
type Cmsgs struct {
	// RxSec and RxNsec are the kernel's receive timestamp (SO_TIMESTAMPNS):
	// CLOCK_REALTIME seconds and nanoseconds since the Unix epoch; set only
	// when RxKnown.
	RxSec, RxNsec int64
	// RxKnown says a receive timestamp was present.
	RxKnown bool
	// Dst is the datagram's destination address (IP_PKTINFO's ipi_addr or
	// IPV6_PKTINFO's ipi6_addr), which tells a socket bound to a wildcard
	// address where the datagram was sent; set only when DstKnown.
	Dst netip.Addr
	// DstKnown says a packet-info message was present.
	DstKnown bool
	// Ifindex is the index of the interface the datagram arrived on (from
	// packet info; 0 when unknown).
	Ifindex uint32
	// StampSec and StampNsec are the software stamp of an SCM_TIMESTAMPING
	// message (CLOCK_REALTIME): on the error queue, when the datagram
	// numbered TxID left (EnableTxTimestamps); set only when StampKnown.
	StampSec, StampNsec int64
	// StampKnown says an SCM_TIMESTAMPING software stamp was present.
	StampKnown bool
	// TxID is the number of the sent datagram an error-queue message
	// stamps (SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND: its position
	// among the datagrams the socket sent since EnableTxTimestamps, from
	// 0, modulo 2^32); set only when TxIDKnown.
	TxID uint32
	// TxIDKnown says an extended error naming a sent datagram's transmit
	// timestamp was present.
	TxIDKnown bool
}

// TxStamp returns the transmit stamp of an error-queue message as a
// time.Time on the system clock; meaningful only when StampKnown.
func (c *Cmsgs) TxStamp() time.Time { return time.Unix(c.StampSec, c.StampNsec) }

// RxTime returns the kernel receive timestamp as a time.Time on the system
// clock (CLOCK_REALTIME); meaningful only when RxKnown.
func (c *Cmsgs) RxTime() time.Time { return time.Unix(c.RxSec, c.RxNsec) }
