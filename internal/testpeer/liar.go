package testpeer

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// NTPServer is a small stratum-1 NTP server for tests, on loopback: it
// serves this machine's clock plus Offset, which a test may change while it
// runs (a liar, or an honest server with Offset 0).
type NTPServer struct {
	// Addr is where it listens.
	Addr netip.AddrPort
	// Answered counts replies sent.
	Answered atomic.Uint64
	offset   atomic.Int64
	bogus    atomic.Bool
}

// SetOffset makes the server serve this machine's clock plus d.
func (s *NTPServer) SetOffset(d time.Duration) { s.offset.Store(int64(d)) }

// SetBogusOrigin makes the server answer with a wrong origin timestamp, as
// an off-path spoofer would.
func (s *NTPServer) SetBogusOrigin(b bool) { s.bogus.Store(b) }

// StartNTPServer starts a server on 127.0.0.1 serving the host clock plus
// offset until the test ends.
func StartNTPServer(t testing.TB, offset time.Duration) *NTPServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &NTPServer{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
	s.SetOffset(offset)
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			rx := time.Now().Add(time.Duration(s.offset.Load()))
			var req ntp.Header
			if ntp.Decode(buf[:n], &req) != nil || req.Mode != ntp.ModeClient {
				continue
			}
			origin := req.TransmitTime
			if s.bogus.Load() {
				origin++
			}
			h := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 1, PollLog2: req.PollLog2, PrecisionLog2: -20,
				RefID: ntp.RefIDPPS, RootDispersion: ntp.ShortFromDuration(50 * time.Microsecond),
				RefTime: ntp.FromTime(rx.Truncate(time.Second)), OriginTime: origin, ReceiveTime: ntp.FromTime(rx)}
			h.TransmitTime = ntp.FromTime(time.Now().Add(time.Duration(s.offset.Load())))
			var out [ntp.HeaderLen]byte
			ntp.Encode(&h, out[:])
			if _, err := c.WriteToUDPAddrPort(out[:], from); err == nil {
				s.Answered.Add(1)
			}
		}
	}()
	return s
}
