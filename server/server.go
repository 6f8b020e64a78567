package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/status"
)

// TimeSource is the clock the server serves. Now reads it; FromSystem maps a
// CLOCK_REALTIME reading (a kernel packet timestamp) onto it: the identity
// on hardware, where the discipline steers the system clock, and the
// simulated clock's reading at that instant otherwise. Transmit timestamps
// are FromSystem of a system clock reading (plus the lag learnt from the
// kernel's transmit stamps, which are on the system clock), so the two must
// agree: Now is FromSystem(time.Now()).
type TimeSource interface {
	Now() time.Time
	FromSystem(t time.Time) time.Time
}

// SystemClock is the TimeSource of a server on hardware: the system clock,
// which the discipline steers.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FromSystem returns t: kernel timestamps are already on the served clock.
func (SystemClock) FromSystem(t time.Time) time.Time { return t }

// NumDropReasons is the number of DropReason values (the length of Stats.Drops).
const NumDropReasons = int(numDropReasons)

// Stats are the server's counters since New.
type Stats struct {
	Received uint64 // datagrams read
	Answered uint64 // mode 4 replies sent
	KoD      uint64 // RATE kiss-o'-death replies sent
	Leaked   uint64 // requests over the rate limit answered normally (in Answered too)
	Control  uint64 // mode 6 requests answered (from loopback)
	// Interleaved counts the answers (within Answered) in interleaved
	// mode: carrying the kernel's transmit time of the previous reply.
	Interleaved uint64
	// TxStamps counts the kernel transmit stamps read back from the
	// sockets' error queues; TxLagNsMax is the largest transmit-stamp lag
	// among them (the kernel's stamp minus the transmit timestamp the
	// reply carried, in ns; 0 if none came late).
	TxStamps   uint64
	TxLagNsMax int64
	Drops      [NumDropReasons]uint64 // requests not answered, by DropReason (Drops[DropNone] is unused)
}

// Dropped returns the total of Drops.
func (s Stats) Dropped() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// counters are one worker's statistics, written by it alone.
type counters struct {
	received, answered, kod, control atomic.Uint64
	interleaved, txStamps            atomic.Uint64
	txLagMax                         atomic.Int64
	drops                            [numDropReasons]atomic.Uint64
}

// Server answers NTP requests on UDP. Create it with New, bind with Listen
// (optional: Serve binds if needed; binding first lets the caller drop
// privileges in between), then Serve.
type Server struct {
	cfg     Config
	clock   TimeSource
	state   func() *discipline.SyncState
	log     *slog.Logger
	limiter *rateLimiter
	xleave  *xleaveTable // saved replies for interleaved mode
	kodPoll int8
	start   time.Time
	control controlInfo
	// snapshot is the appliance's status, for mode 6 (nil: sync state alone).
	snapshot func() *status.Snapshot

	mu      sync.Mutex
	socks   []*socket // one per worker per address, from Listen
	serving bool
	closed  bool
	stats   []*counters // one per socket, kept after Serve returns
}

// New returns a server for cfg serving clock, reading the discipline's state
// through state (called once per batch of requests; nil means not
// synchronised). log may be nil.
func New(cfg Config, clock TimeSource, state func() *discipline.SyncState, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("server: nil TimeSource")
	}
	if state == nil {
		return nil, errors.New("server: nil state function")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("server: rate limiter seed: %w", err)
	}
	return &Server{
		cfg:     cfg,
		clock:   clock,
		state:   state,
		log:     log,
		limiter: newRateLimiter(cfg, binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])),
		kodPoll: cfg.kodPollLog2(),
		xleave:  newXleaveTable(),
		start:   time.Now(),
		control: defaultControlInfo(),
	}, nil
}

// Listen opens and binds every socket (cfg.Workers per listen address, with
// SO_REUSEPORT among themselves), after checking that no other process
// holds any of the addresses (ErrAddrInUse: two instances must not split
// the queries). Call it before dropping privileges to bind port 123.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("server: Listen after Close")
	}
	if s.socks != nil {
		return errors.New("server: Listen called twice")
	}
	for _, a := range s.cfg.ListenAddrs {
		ap, _ := parseListenAddr(a) // validated in New
		if err := probeExclusive(ap); err != nil {
			return fmt.Errorf("server: listen %s: %w", ap, err)
		}
	}
	var socks []*socket
	for _, a := range s.cfg.ListenAddrs {
		ap, _ := parseListenAddr(a) // validated in New
		for i := 0; i < s.cfg.Workers; i++ {
			sk, err := listenSocket(ap)
			if err != nil {
				for _, o := range socks {
					o.close()
				}
				return fmt.Errorf("server: listen %s: %w", ap, err)
			}
			ap = sk.local // port 0: the other workers share the port chosen
			socks = append(socks, sk)
		}
	}
	s.socks = socks
	for range socks {
		s.stats = append(s.stats, new(counters))
	}
	return nil
}

// Addrs returns the bound address of each listen address (with the port
// chosen when it was 0), in the order of cfg.ListenAddrs; nil before Listen.
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for i := 0; i < len(s.socks); i += s.cfg.Workers {
		out = append(out, s.socks[i].local)
	}
	return out
}

// Serve answers requests until ctx is done or Close is called, then closes
// the sockets and returns nil; it returns an error if a socket fails. It calls Listen first
// if the caller has not. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	}
	s.serving = true
	need := s.socks == nil
	s.mu.Unlock()
	if need {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	socks, stats := s.socks, s.stats
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(socks))
	for i, sk := range socks {
		w := newWorker(s, sk, stats[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A worker ends when its socket is closed (Close, or ctx) or
			// fails; either way the others are stopped too.
			defer cancel()
			if err := w.run(); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("server: %s: %w", sk.local, err)
			}
		}()
	}
	for _, sk := range socks {
		if err := sk.timestampErr(); err != nil {
			s.log.Warn("no kernel receive timestamps: stamping in user space after recvmmsg", "addr", sk.local, "err", err)
			break
		}
	}
	s.log.Info("serving NTP", "addrs", s.Addrs(), "workers", s.cfg.Workers, "batch", s.cfg.BatchSize,
		"rate_interval", s.cfg.RateInterval, "rate_burst", s.cfg.RateBurst)
	<-ctx.Done()
	s.Close()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		s.log.Error("NTP server stopped", "err", err)
		return err
	}
	return nil
}

// Close closes the sockets; a running Serve returns. It is safe to call
// more than once and without Serve (to release sockets from Listen).
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var first error
	for _, sk := range s.socks {
		if err := sk.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Stats returns the counters summed over the workers.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	cs := s.stats
	s.mu.Unlock()
	var st Stats
	if s.limiter != nil {
		st.Leaked = s.limiter.leaked()
	}
	for _, c := range cs {
		st.Received += c.received.Load()
		st.Answered += c.answered.Load()
		st.KoD += c.kod.Load()
		st.Control += c.control.Load()
		st.Interleaved += c.interleaved.Load()
		st.TxStamps += c.txStamps.Load()
		st.TxLagNsMax = max(st.TxLagNsMax, c.txLagMax.Load())
		for i := range c.drops {
			st.Drops[i] += c.drops[i].Load()
		}
	}
	return st
}

// controlAllowed says whether a mode 6 request from src to dst may be
// answered: only from a loopback source, and, when the destination is
// known, to a loopback destination (Linux already drops packets from
// loopback sources arriving on other interfaces; this is the second lock).
func controlAllowed(src, dst netip.Addr, dstKnown bool) bool {
	if !src.Unmap().IsLoopback() {
		return false
	}
	return !dstKnown || dst.Unmap().IsLoopback()
}

// action is what the serving loop does with one received datagram.
type action uint8

const (
	actDrop        action = iota // count the drop reason
	actAnswer                    // send the 48-octet reply in out, stamping transmit
	actKoD                       // send the kiss-o'-death in out as is
	actControl                   // answer the mode 6 request from loopback
	actSave                      // as actAnswer, and save the reply for interleaved mode
	actInterleaved               // send the interleaved reply in out (its transmit time set), and save it
)

// process decides on one datagram req from src (to dst if dstKnown)
// received at rx (monoNs on the rate limiter's monotonic clock, read once
// per batch), building a reply into out (ntp.HeaderLen octets) when there is
// one. It is the whole per-request path but for the socket calls, and does
// not allocate.
func (s *Server) process(req []byte, src, dst netip.Addr, dstKnown bool, rx time.Time, monoNs int64, st *discipline.SyncState, out []byte) (action, DropReason) {
	var h ntp.Header
	k, why := classify(req, &h)
	switch k {
	case kindClient:
		if s.limiter != nil {
			switch s.limiter.check(src, monoNs) {
			case verdictDrop:
				return actDrop, DropRateLimit
			case verdictLeak:
				// Answered normally below; the limiter counts it.
			case verdictKoD:
				respondKoD(&h, s.kodPoll, out)
				return actKoD, DropNone
			}
		}
		respondClient(&h, rx, rx, st, out)
		markReceive(out)
		if s.xleave != nil && asksInterleaved(&h) {
			if prev, ok := s.xleave.take(src, h.OriginTime); ok {
				interleave(out, &h, prev)
				return actInterleaved, DropNone
			}
			return actSave, DropNone
		}
		return actAnswer, DropNone
	case kindControl:
		if !controlAllowed(src, dst, dstKnown) {
			return actDrop, DropControlRemote
		}
		return actControl, DropNone
	}
	return actDrop, why
}

// LogValue logs the counters as a group, drops by reason name, zero
// counts left out.
func (s Stats) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("received", s.Received),
		slog.Uint64("answered", s.Answered),
		slog.Uint64("kod", s.KoD),
		slog.Uint64("leaked", s.Leaked),
		slog.Uint64("control", s.Control),
		slog.Uint64("interleaved", s.Interleaved),
		slog.Uint64("tx_stamps", s.TxStamps),
		slog.Int64("tx_lag_ns_max", s.TxLagNsMax),
	}
	for i, d := range s.Drops {
		if d != 0 && DropReason(i) != DropNone {
			attrs = append(attrs, slog.Uint64("drop_"+DropReason(i).String(), d))
		}
	}
	return slog.GroupValue(attrs...)
}
