package loadgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	out := make([]byte, PacketLen+64)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		k := f.n.Add(1)
		f.srcPorts.Store(from.Port(), true)
		if n != PacketLen || buf[0]&7 != ModeClient {
			continue
		}
		if f.dropEvery > 0 && k%f.dropEvery == 0 {
			continue
		}
		clear(out)
		out[0] = 4<<3 | ModeServer
		out[1] = byte(f.stratum.Load())
		copy(out[12:16], "PPS\x00")
		if f.kodEvery > 0 && k%f.kodEvery == 0 {
			out[0] = 3<<6 | 4<<3 | ModeServer
			out[1] = 0
			copy(out[12:16], "RATE")
		}
		copy(out[24:32], buf[40:48])
		binary.BigEndian.PutUint64(out[40:], uint64(time.Now().UnixNano()))
		reply := out[:PacketLen+f.extra]
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
