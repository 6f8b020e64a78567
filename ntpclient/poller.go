package ntpclient

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/udpio"
)

// Clock is the local clock the exchanges are timed on: Now reads it,
// FromSystem maps a kernel (CLOCK_REALTIME) timestamp onto it (the identity
// on hardware; the simulated clock's reading in simulation).
type Clock interface {
	Now() time.Time
	FromSystem(t time.Time) time.Time
}

// Resolver looks up a host's addresses (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Poller polls the configured upstreams, each in its own goroutine, and
// sends their clock filter's samples to the selection.
type Poller struct {
	clock    Clock
	resolver Resolver
	log      *slog.Logger
	timeout  time.Duration
	peers    []*polled
	// stepped is the sum of the local clock's steps so far (ns); each
	// peer shifts its filter by what it has not seen yet.
	stepped atomic.Int64
}

// Stepped tells the poller the local clock was stepped by d; safe from any
// goroutine.
func (p *Poller) Stepped(d time.Duration) { p.stepped.Add(int64(d)) }

// polled is one upstream peer and its published status.
type polled struct {
	id     source.ID
	host   string
	port   int
	pool   int // index in its pool's addresses, -1 for a server
	cfg    PeerConfig
	addr   atomic.Pointer[netip.AddrPort]
	status atomic.Pointer[PeerStatus]
}

// PeerStatus is an upstream's state for the status views.
type PeerStatus struct {
	// ID names the source ("host:port", or "pool/host#N" for pool members).
	ID source.ID
	// Addr is the address polled (zero before it resolved).
	Addr netip.AddrPort
	Status
}

// ReplyTimeout is how long a request waits for its reply.
const ReplyTimeout = 2 * time.Second

// NewPoller returns a poller for ups; resolver nil means
// net.DefaultResolver. The IDs of its peers are PeerIDs, in order.
func NewPoller(ups []Upstream, clock Clock, resolver Resolver, log *slog.Logger) (*Poller, error) {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poller{clock: clock, resolver: resolver, log: log, timeout: ReplyTimeout}
	for _, u := range ups {
		if err := u.Peer.Validate(); err != nil {
			return nil, err
		}
		n := 1
		if u.Pool {
			n = PoolPeers
		}
		for i := range n {
			id := source.ID(net.JoinHostPort(u.Host, strconv.Itoa(u.Port)))
			pool := -1
			if u.Pool {
				id, pool = source.ID(fmt.Sprintf("%s#%d", id, i+1)), i
			}
			pp := &polled{id: id, host: u.Host, port: u.Port, pool: pool, cfg: u.Peer}
			pp.status.Store(&PeerStatus{ID: id, Status: Status{PollLog2: u.Peer.MinPollLog2}})
			p.peers = append(p.peers, pp)
		}
	}
	return p, nil
}

// PeerIDs returns the source IDs of the peers, in configuration order.
func (p *Poller) PeerIDs() []source.ID {
	ids := make([]source.ID, len(p.peers))
	for i, pp := range p.peers {
		ids[i] = pp.id
	}
	return ids
}

// Preferred reports whether the peer id was configured with prefer.
func (p *Poller) Preferred(id source.ID) bool {
	for _, pp := range p.peers {
		if pp.id == id {
			return pp.cfg.Prefer
		}
	}
	return false
}

// Statuses returns every peer's state; safe from any goroutine.
func (p *Poller) Statuses() []PeerStatus {
	out := make([]PeerStatus, len(p.peers))
	for i, pp := range p.peers {
		out[i] = *pp.status.Load()
	}
	return out
}

// Run polls every peer until ctx is done, sending samples on out. It
// returns nil when ctx is done.
func (p *Poller) Run(ctx context.Context, out chan<- source.Sample) error {
	var wg sync.WaitGroup
	for _, pp := range p.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runPeer(ctx, pp, out)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Poller) runPeer(ctx context.Context, pp *polled, out chan<- source.Sample) {
	log := p.log.With("upstream", pp.id)
	peer, _ := NewPeer(pp.id, pp.cfg, p.clock.Now()) // validated in NewPoller
	timer := time.NewTimer(0)
	defer timer.Stop()
	resolveBackoff := time.Second
	var seen int64
	catchUp := func() {
		if st := p.stepped.Load(); st != seen {
			peer.Stepped(time.Duration(st - seen))
			seen = st
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if pp.addr.Load() == nil || peer.Unreachable() {
			if err := p.resolve(ctx, pp, peer); err != nil {
				log.Warn("cannot resolve upstream", "err", err, "retry_in", resolveBackoff)
				timer.Reset(resolveBackoff)
				resolveBackoff = min(2*resolveBackoff, 5*time.Minute)
				continue
			}
			resolveBackoff = time.Second
		}
		addr := *pp.addr.Load()
		now := p.clock.Now()
		if next := peer.Next(); next.IsZero() {
			log.Warn("upstream refuses us: no longer polled", "err", peer.Status().Stopped)
			pp.publish(peer, addr)
			return
		} else if next.After(now) {
			timer.Reset(next.Sub(now))
			continue
		}
		catchUp()
		m, err := p.exchange(ctx, addr, peer.PollLog2(), pp.cfg.Limits)
		if p.stepped.Load() != seen {
			// The clock was stepped during the exchange: its times mix
			// two timescales.
			err = errors.New("ntpclient: the local clock was stepped during the exchange")
		}
		peer.Sent(p.clock.Now())
		if err != nil && !errors.As(err, new(*KissError)) && ctx.Err() == nil {
			log.Debug("no usable reply", "err", err)
		}
		s, ok := peer.Received(m, err, p.clock.Now())
		pp.publish(peer, addr)
		if ok {
			select {
			case out <- s:
			case <-ctx.Done():
				return
			}
		}
		timer.Reset(max(peer.Next().Sub(p.clock.Now()), 0))
	}
}

func (pp *polled) publish(peer *Peer, addr netip.AddrPort) {
	pp.status.Store(&PeerStatus{ID: pp.id, Addr: addr, Status: peer.Status()})
}

// resolve looks the peer's host up again (pool members take their own
// index of the answer).
func (p *Poller) resolve(ctx context.Context, pp *polled, peer *Peer) error {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(pp.host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = p.resolver.LookupNetIP(rctx, "ip", pp.host)
		if err != nil {
			return err
		}
	}
	i := max(pp.pool, 0)
	if len(addrs) == 0 || i >= len(addrs) {
		return fmt.Errorf("%s: %d addresses, none for member %d", pp.host, len(addrs), i+1)
	}
	a := netip.AddrPortFrom(addrs[i].Unmap(), uint16(pp.port))
	if old := pp.addr.Load(); old == nil || *old != a {
		p.log.Info("upstream address", "upstream", pp.id, "addr", a.String())
	}
	pp.addr.Store(&a)
	peer.SetRefID(ntp.RefIDFromAddr(a.Addr()))
	return nil
}

// exchange sends one request from a fresh socket (a random source port)
// with a random transmit timestamp, and checks the reply. The local send
// time is read as late as possible before the write, the receive time from
// the kernel's stamp of the datagram.
func (p *Poller) exchange(ctx context.Context, addr netip.AddrPort, pollLog2 int8, lim Limits) (Measurement, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return Measurement{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	kernelStamps := false
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if _, err := udpio.EnableRxTimestamps(int(fd)); err == nil {
				kernelStamps = true
			}
		})
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Measurement{}, err
	}
	xmt := ntp.Time(binary.LittleEndian.Uint64(rnd[:]))
	var req [ntp.HeaderLen]byte
	Request(req[:], xmt, pollLog2)
	conn.SetReadDeadline(time.Now().Add(p.timeout))
	t1 := p.clock.Now()
	if _, err := conn.Write(req[:]); err != nil {
		return Measurement{}, err
	}
	buf := make([]byte, 512)
	oob := make([]byte, udpio.RecvOOBLen)
	for {
		n, oobn, _, _, err := conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return Measurement{}, err
		}
		t4 := p.clock.Now()
		if kernelStamps {
			if cm := udpio.ParseCmsgs(oob[:oobn]); cm.RxSec != 0 {
				t4 = p.clock.FromSystem(cm.RxTime())
			}
		}
		m, err := Check(buf[:n], xmt, t1, t4, lim)
		if errors.Is(err, ErrBogusOrigin) {
			continue // not our reply: keep waiting for ours
		}
		return m, err
	}
}
