package loadgen

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// fakeServer is a minimal NTP responder on 127.0.0.1 for the tests: it echoes
// each request's transmit timestamp as the origin, answers every kodEvery-th
// request with a RATE kiss-o'-death and ignores every dropEvery-th.
type fakeServer struct {
	conn      *net.UDPConn
	stratum   atomic.Uint32
	kodEvery  uint64
	dropEvery uint64
	extra     int // bytes appended to every reply
	garbage   bool
	stale     time.Duration // transmit timestamps this far in the past
	n         atomic.Uint64
	srcPorts  sync.Map
	wg        sync.WaitGroup
}

func startFake(t *testing.T, kodEvery, dropEvery uint64, opts ...func(*fakeServer)) *fakeServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	f := &fakeServer{conn: c, kodEvery: kodEvery, dropEvery: dropEvery}
	f.stratum.Store(1)
	for _, o := range opts {
		o(f)
	}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		_ = c.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) addr() netip.AddrPort {
	return f.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (f *fakeServer) serve() {
	defer f.wg.Done()
	buf := make([]byte, 512)
	out := make([]byte, ntp.HeaderLen+64)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		k := f.n.Add(1)
		f.srcPorts.Store(from.Port(), true)
		var req ntp.Header
		if n != ntp.HeaderLen || ntp.Decode(buf[:n], &req) != nil || req.Mode != ntp.ModeClient {
			continue
		}
		if f.dropEvery > 0 && k%f.dropEvery == 0 {
			continue
		}
		h := ntp.Header{
			Version: 4, Mode: ntp.ModeServer, Stratum: uint8(f.stratum.Load()), RefID: ntp.RefIDPPS,
			OriginTime: req.TransmitTime, TransmitTime: ntp.FromTime(time.Now().Add(-f.stale)),
		}
		if f.kodEvery > 0 && k%f.kodEvery == 0 {
			h.Leap, h.Stratum, h.RefID = 3, 0, ntp.KissRate
		}
		clear(out)
		ntp.Encode(&h, out)
		reply := out[:ntp.HeaderLen+f.extra]
		if f.garbage {
			reply = out[:20]
		}
		_, _ = f.conn.WriteToUDPAddrPort(reply, from)
	}
}

func (f *fakeServer) ports() int {
	c := 0
	f.srcPorts.Range(func(any, any) bool { c++; return true })
	return c
}
