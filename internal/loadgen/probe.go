package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// Probe sends one request to target (loopback only) and waits up to timeout
// for the reply that echoes its transmit timestamp.
func Probe(ctx context.Context, target netip.AddrPort, timeout time.Duration) (Response, error) {
	if err := CheckTarget(target); err != nil {
		return Response{}, err
	}
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(target))
	if err != nil {
		return Response{}, fmt.Errorf("loadgen: probe: %w", err)
	}
	defer u.Close()
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = u.SetDeadline(dl)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	xmt := uint64(ntpSecondsNow())<<32 | uint64(binary.BigEndian.Uint32(rnd[:]))
	var req [ntp.HeaderLen]byte
	EncodeRequest(req[:], xmt)
	if _, err := u.Write(req[:]); err != nil {
		return Response{}, fmt.Errorf("loadgen: probe send: %w", err)
	}
	buf := make([]byte, 512)
	for {
		n, err := u.Read(buf)
		if err != nil {
			return Response{}, fmt.Errorf("loadgen: probe receive: %w", err)
		}
		var r Response
		if ParseResponse(buf[:n], &r) != nil || uint64(r.OriginTime) != xmt {
			continue // not our answer; the deadline bounds this loop
		}
		return r, nil
	}
}

// ErrNotSynced is returned by WaitSync when the server did not reach the
// wanted stratum in time.
var ErrNotSynced = errors.New("loadgen: server not synchronised in time")

// WaitSync probes target once a second until it answers with a stratum in
// 1..maxStratum and a leap indicator other than 3 (alarm), or until timeout.
func WaitSync(ctx context.Context, target netip.AddrPort, maxStratum uint8, timeout time.Duration) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last Response
	var lastErr error
	for {
		r, err := Probe(ctx, target, time.Second)
		if err == nil && !r.KoD() && r.Stratum <= maxStratum && r.Leap != 3 {
			return r, nil
		}
		if err == nil {
			last, lastErr = r, nil
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("%w: %w", ErrNotSynced, lastErr)
			}
			return last, fmt.Errorf("%w: last answer stratum %d leap %d", ErrNotSynced, last.Stratum, last.Leap)
		case <-time.After(time.Second):
		}
	}
}
