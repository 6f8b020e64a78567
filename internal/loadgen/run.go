package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/udpio"
)

// Config sets up a run. Every run is bounded by Duration and MaxCount.
type Config struct {
	// Target is the server; only 127.0.0.0/8 and ::1 are accepted.
	Target netip.AddrPort
	// Sockets is the number of client sockets, each with its own source port.
	Sockets int
	// Source is the local address the sockets bind to (loopback, same
	// family as Target); zero means 127.0.0.1 or ::1. Servers limit rates
	// per address, so another 127.x source is another client.
	Source netip.Addr
	// SourcePort, if non-zero, binds socket i to SourcePort+i; 0 lets the
	// kernel pick distinct ephemeral ports.
	SourcePort int
	// Batch is the most messages per sendmmsg/recvmmsg call.
	Batch int
	// Rate is the offered rate (requests per second) of an open-loop run.
	Rate float64
	// Duration is how long requests are sent.
	Duration time.Duration
	// Drain is how long an open-loop run keeps reading after its last send;
	// later replies count as lost.
	Drain time.Duration
	// MaxCount bounds the number of requests of one run.
	MaxCount int
	// Window is the number of requests each socket keeps outstanding in a
	// closed-loop (ceiling) run.
	Window int
	// Timeout is how long a closed-loop socket waits for any reply before
	// writing its outstanding requests off as lost and sending afresh.
	Timeout time.Duration
	// RecvBuf is the receive buffer asked for each client socket, so the
	// generator's own sockets do not drop replies.
	RecvBuf int
}

// DefaultConfig returns the benchmark's set-up (BENCHMARKS.md section 2)
// for target: 16 sockets, batches of 64, 5 s.
func DefaultConfig(target netip.AddrPort) Config {
	return Config{
		Target:   target,
		Sockets:  16,
		Batch:    64,
		Rate:     50000,
		Duration: 5 * time.Second,
		Drain:    300 * time.Millisecond,
		MaxCount: 8 << 20,
		Window:   8,
		Timeout:  20 * time.Millisecond,
		RecvBuf:  4 << 20,
	}
}

// Validate checks the configuration, the target address first.
func (c Config) Validate() error {
	if err := CheckTarget(c.Target); err != nil {
		return err
	}
	if c.Source.IsValid() {
		if err := CheckTarget(netip.AddrPortFrom(c.Source, 1)); err != nil {
			return fmt.Errorf("loadgen: source: %w", err)
		}
		if c.Source.Unmap().Is4() != c.Target.Addr().Unmap().Is4() {
			return fmt.Errorf("loadgen: source %s and target %s differ in family", c.Source, c.Target)
		}
	}
	switch {
	case c.Sockets < 1 || c.Sockets > 1024:
		return fmt.Errorf("loadgen: sockets %d: want 1..1024", c.Sockets)
	case c.SourcePort < 0 || c.SourcePort > 0 && c.SourcePort+c.Sockets-1 > 65535:
		return fmt.Errorf("loadgen: source ports %d+%d out of range", c.SourcePort, c.Sockets)
	case c.Batch < 1 || c.Batch > 1024:
		return fmt.Errorf("loadgen: batch %d: want 1..1024", c.Batch)
	case c.Rate <= 0 || c.Rate > 10e6:
		return fmt.Errorf("loadgen: rate %g/s: want (0, 1e7]", c.Rate)
	case c.Duration <= 0 || c.Duration > 10*time.Minute:
		return fmt.Errorf("loadgen: duration %s: want (0, 10m]", c.Duration)
	case c.Drain < 0 || c.Drain > 10*time.Second:
		return fmt.Errorf("loadgen: drain %s: want [0, 10s]", c.Drain)
	case c.MaxCount < 1 || int64(c.MaxCount) > 1<<32:
		return fmt.Errorf("loadgen: max count %d: want 1..2^32", c.MaxCount)
	case c.Window < 1 || c.Window > 4096:
		return fmt.Errorf("loadgen: window %d: want 1..4096", c.Window)
	case c.Timeout < time.Millisecond || c.Timeout > 10*time.Second:
		return fmt.Errorf("loadgen: timeout %s: want 1ms..10s", c.Timeout)
	case c.RecvBuf < 0:
		return fmt.Errorf("loadgen: receive buffer %d < 0", c.RecvBuf)
	}
	return nil
}

// Result is what a run measured. Loss = (Sent - Answered - KoD) / Sent.
type Result struct {
	Mode       string        `json:"mode"` // "open" or "closed"
	Offered    float64       `json:"offered_per_s"`
	Duration   time.Duration `json:"duration_ns"`
	Sent       uint64        `json:"sent"`
	Answered   uint64        `json:"answered"` // matched replies that are not KoD
	KoD        uint64        `json:"kod"`      // matched kiss-o'-death replies
	KoDRate    uint64        `json:"kod_rate"` // of which RATE
	Unknown    uint64        `json:"unknown"`  // replies matching no request of this run
	Duplicate  uint64        `json:"duplicate"`
	Bad        uint64        `json:"bad"` // short or not mode 4
	SendErrors uint64        `json:"send_errors"`
	RecvErrors uint64        `json:"recv_errors"`
	Loss       float64       `json:"loss"`
	SentPerS   float64       `json:"sent_per_s"`
	AnsPerS    float64       `json:"answered_per_s"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	// LagP50, LagP99 and LagMax are the transmit-stamp lag of the answers:
	// the generator's kernel receive stamp of each reply minus the transmit
	// timestamp the reply carries. On loopback a reply is received inside
	// the server's send, so this is how much later than its transmit
	// timestamp says the reply left (plus the server's clock offset from
	// this machine's, zero for a server on the system clock). Lag below 0
	// counts as 0 here; LagMin is the smallest, signed. LagCount is how
	// many replies had a kernel receive stamp (0: no lag measured).
	LagP50   time.Duration `json:"lag_p50_ns"`
	LagP99   time.Duration `json:"lag_p99_ns"`
	LagMax   time.Duration `json:"lag_max_ns"`
	LagMin   time.Duration `json:"lag_min_ns"`
	LagCount uint64        `json:"lag_count"`
	// Stratum, Leap and RefID are from the last answer (not KoD).
	Stratum uint8  `json:"stratum"`
	Leap    uint8  `json:"leap"`
	RefID   string `json:"refid"`
}

// stats is one receiving goroutine's tally.
type stats struct {
	answered, kod, kodRate, unknown, dup, bad, recvErr uint64
	hist                                               Histogram
	lag                                                Histogram // transmit-stamp lag, see Result.LagP50
	lagMin                                             time.Duration
	last                                               Response
	haveLast                                           bool
}

func (s *stats) merge(o *stats) {
	s.answered += o.answered
	s.kod += o.kod
	s.kodRate += o.kodRate
	s.unknown += o.unknown
	s.dup += o.dup
	s.bad += o.bad
	s.recvErr += o.recvErr
	s.hist.Merge(&o.hist)
	if o.lag.Count() > 0 && (s.lag.Count() == 0 || o.lagMin < s.lagMin) {
		s.lagMin = o.lagMin
	}
	s.lag.Merge(&o.lag)
	if o.haveLast {
		s.last, s.haveLast = o.last, true
	}
}

// handleSlot tallies slot k of in, a batch received with control
// messages: the reply and, if the kernel stamped its arrival, its
// transmit-stamp lag.
func (s *stats) handleSlot(m *Matcher, in *batch, k int, at time.Duration) bool {
	cm := udpio.ParseCmsgs(in.Control(k))
	var rx time.Time
	if cm.RxKnown {
		rx = cm.RxTime()
	}
	return s.handle(m, in.Data(k), at, rx)
}

// handle tallies one received datagram and reports whether it answered a
// request of this run (an answer or a KoD); rx is the kernel's receive
// stamp of it (zero: none), for the transmit-stamp lag.
func (s *stats) handle(m *Matcher, b []byte, at time.Duration, rx time.Time) bool {
	var r Response
	if err := ParseResponse(b, &r); err != nil {
		s.bad++
		return false
	}
	lat, res := m.Match(uint64(r.OriginTime), at)
	switch res {
	case Unknown:
		s.unknown++
		return false
	case Duplicate:
		s.dup++
		return false
	}
	if r.KoD() {
		s.kod++
		if r.IsRate() {
			s.kodRate++
		}
		return true
	}
	s.answered++
	s.hist.Record(lat)
	if !rx.IsZero() {
		lag := rx.Sub(r.TransmitTime.TimeNear(rx))
		if s.lag.Count() == 0 || lag < s.lagMin {
			s.lagMin = lag
		}
		s.lag.Record(lag)
	}
	s.last, s.haveLast = r, true
	return true
}

func dial(c Config) ([]*sock, error) {
	raddr := net.UDPAddrFromAddrPort(c.Target)
	loc := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if c.Target.Addr().Is6() {
		loc = netip.IPv6Loopback()
	}
	if c.Source.IsValid() {
		loc = c.Source.Unmap()
	}
	var cs []*sock
	for i := range c.Sockets {
		port := 0
		if c.SourcePort != 0 {
			port = c.SourcePort + i
		}
		laddr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(loc, uint16(port)))
		u, err := net.DialUDP("udp", laddr, raddr)
		if err != nil {
			closeAll(cs)
			return nil, fmt.Errorf("loadgen: socket %d: %w", i, err)
		}
		if c.RecvBuf > 0 {
			setRecvBuf(u, c.RecvBuf)
		}
		enableRxStamps(u)
		s, err := newSock(u)
		if err != nil {
			_ = u.Close()
			closeAll(cs)
			return nil, err
		}
		cs = append(cs, s)
	}
	return cs, nil
}

func closeAll(cs []*sock) {
	for _, c := range cs {
		_ = c.u.Close()
	}
}

// recvSize leaves room to see a reply longer than 48 bytes (counted as an
// answer: extensions are the server's business).
const recvSize = 128

// isTimeout reports a read deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// ntpSecondsNow is the high word of the run's transmit timestamps.
func ntpSecondsNow() uint32 { return ntp.FromTime(time.Now()).Seconds() }

// Pacing of the open loop. One goroutine sends and polls the sockets
// (epoll, then recvmmsg on those with data) without sleeping while the
// next send is near: Go's timers wake ~1 ms late, so sleeping would send in
// bursts that overflow a server's socket buffer, and on a single core
// blocked readers would be starved by a busy sender.
const (
	// sendEvery sends whatever is due at least this often.
	sendEvery = 50 * time.Microsecond
	// idleFar: when nothing arrived and the next send is further away than
	// this (low rates, and the drain), the loop blocks in epoll for 1 ms.
	idleFar = 2 * time.Millisecond
)

// Run offers c.Rate requests a second for c.Duration (open loop), reads
// replies until c.Drain after the last send, and returns the tally. It stops
// early, with what it has, when ctx ends.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	plan := Plan{Rate: c.Rate, Duration: c.Duration, MaxCount: c.MaxCount}
	total := plan.Total()
	if total < 1 {
		return Result{}, fmt.Errorf("loadgen: rate %g/s for %s sends nothing", c.Rate, c.Duration)
	}
	cs, err := dial(c)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(cs)
	poll, err := newPoller(cs)
	if err != nil {
		return Result{}, err
	}
	defer poll.close()
	m := NewMatcher(ntpSecondsNow(), total)
	out := newBatch(c.Batch, ntp.HeaderLen)
	in := newRecvBatch(c.Batch, recvSize)
	var s stats
	var sent, sendErrs uint64
	seq, next := 0, 0
	var lastSend time.Duration = -time.Hour
	start := time.Now()
	readable := func(i int) {
		// Up to a few batches a turn, so a busy socket cannot starve the sender.
		for range 4 {
			n, err := cs[i].recvNow(in)
			if err != nil {
				s.recvErr++ // e.g. ECONNREFUSED while nobody listens
				return
			}
			at := time.Since(start)
			for k := range n {
				s.handleSlot(m, in, k, at)
			}
			if n < len(in.Msgs) {
				return
			}
		}
	}
	for ctx.Err() == nil {
		now := time.Since(start)
		if now >= c.Duration+c.Drain {
			break
		}
		sending := now < c.Duration && seq < total
		if sending {
			due := plan.Due(now)
			if due-seq >= c.Batch || due > seq && now-lastSend >= sendEvery {
				lastSend = now
				// At most one round of the sockets per turn, so replies
				// are read between bursts when the sender falls behind.
				for burst := min(due-seq, c.Batch*len(cs)); burst > 0; {
					n := min(burst, c.Batch)
					at := time.Since(start) // per batch: a long burst must not inflate latencies
					for i := range n {
						EncodeRequest(out.Buf(i), m.Xmt(seq+i))
						m.Sent(seq+i, at)
					}
					w, err := cs[next].sendNow(out, n)
					for i := w; i < n; i++ {
						m.Unsent(seq + i)
					}
					if err != nil || w < n {
						sendErrs += uint64(n - w)
					}
					sent += uint64(w)
					seq += n
					burst -= n
					next = (next + 1) % len(cs)
				}
			}
		}
		wait := 0
		if !sending || plan.NextAt(seq)-time.Since(start) > idleFar {
			wait = 1
		}
		if err := poll.ready(wait, readable); err != nil {
			return Result{}, err
		}
	}
	return result("open", c.Rate, c.Duration, sent, sendErrs, &s), nil
}

// Ceiling runs closed loop for c.Duration: each socket keeps c.Window
// requests outstanding and sends one for each reply, so the answered rate is
// the most the server gives this client. Requests unanswered for c.Timeout
// are written off as lost.
func Ceiling(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	cs, err := dial(c)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(cs)
	m := NewMatcher(ntpSecondsNow(), c.MaxCount)
	var seqs atomic.Int64
	var sent, sendErrs atomic.Uint64
	start := time.Now()
	end := start.Add(c.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	all := make([]stats, len(cs))
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &loop{s: cs[i], m: m, start: start, seqs: &seqs, sent: &sent, errs: &sendErrs,
				window: c.Window, out: newBatch(c.Batch, ntp.HeaderLen)}
			cl.run(ctx, end, c.Timeout, newRecvBatch(c.Batch, recvSize), &all[i])
		}()
	}
	wg.Wait()
	var s stats
	for i := range all {
		s.merge(&all[i])
	}
	d := min(time.Since(start), c.Duration)
	return result("closed", 0, d, sent.Load(), sendErrs.Load(), &s), nil
}

// loop is one closed-loop socket.
type loop struct {
	s          *sock
	m          *Matcher
	start      time.Time
	seqs       *atomic.Int64
	sent, errs *atomic.Uint64
	window     int
	out        *batch
}

// post sends n new requests and returns how many left.
func (l *loop) post(n int) int {
	posted := 0
	for n > 0 {
		k := min(n, len(l.out.Msgs))
		hi := l.seqs.Add(int64(k))
		lo := int(hi) - k
		if hi > int64(l.m.Cap()) {
			return posted // MaxCount reached
		}
		at := time.Since(l.start)
		for i := range k {
			EncodeRequest(l.out.Buf(i), l.m.Xmt(lo+i))
			l.m.Sent(lo+i, at)
		}
		w, err := l.s.send(l.out, k)
		for i := w; i < k; i++ {
			l.m.Unsent(lo + i)
		}
		l.sent.Add(uint64(w))
		posted += w
		n -= k
		if err != nil || w < k {
			l.errs.Add(uint64(k - w))
			return posted
		}
	}
	return posted
}

func (l *loop) run(ctx context.Context, end time.Time, timeout time.Duration, in *batch, s *stats) {
	inflight := l.post(l.window)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		dl := now.Add(timeout)
		if dl.After(end) {
			dl = end
		}
		_ = l.s.u.SetReadDeadline(dl)
		n, err := l.s.recv(in, true)
		at := time.Since(l.start)
		for i := range n {
			if s.handleSlot(l.m, in, i, at) {
				inflight--
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !isTimeout(err) {
				s.recvErr++
				time.Sleep(time.Millisecond) // e.g. ECONNREFUSED: do not spin
			}
			if !time.Now().Before(end) {
				return
			}
			// Nothing for a whole timeout: the outstanding requests are lost.
			inflight = 0
		}
		if inflight < l.window {
			inflight += l.post(l.window - inflight)
		}
	}
}

func result(mode string, offered float64, d time.Duration, sent, sendErrs uint64, s *stats) Result {
	r := Result{
		Mode: mode, Offered: offered, Duration: d,
		Sent: sent, Answered: s.answered, KoD: s.kod, KoDRate: s.kodRate,
		Unknown: s.unknown, Duplicate: s.dup, Bad: s.bad,
		SendErrors: sendErrs, RecvErrors: s.recvErr,
		P50: s.hist.Quantile(0.50), P99: s.hist.Quantile(0.99), Max: s.hist.Max(),
		LagP50: s.lag.Quantile(0.50), LagP99: s.lag.Quantile(0.99), LagMax: s.lag.Max(),
		LagMin: s.lagMin, LagCount: s.lag.Count(),
	}
	if sent > 0 {
		r.Loss = float64(int64(sent)-int64(s.answered)-int64(s.kod)) / float64(sent)
	}
	if secs := d.Seconds(); secs > 0 {
		r.SentPerS = float64(sent) / secs
		r.AnsPerS = float64(s.answered) / secs
	}
	if s.haveLast {
		r.Stratum, r.Leap = s.last.Stratum, s.last.Leap
		r.RefID = RefIDString(s.last.Stratum, s.last.RefID)
	}
	return r
}

// RefIDString shows a reference ID as RFC 5905 section 7.3 reads it: ASCII
// (a refclock or kiss code) at stratum 0 and 1 when printable, otherwise an
// IPv4 address (or a hash of an IPv6 one).
func RefIDString(stratum uint8, id ntp.RefID) string {
	if stratum <= 1 {
		b := make([]byte, 0, 4)
		ascii := true
		for _, c := range id {
			if c == 0 {
				break
			}
			if c < 0x20 || c > 0x7e {
				ascii = false
				break
			}
			b = append(b, c)
		}
		if ascii {
			return string(b)
		}
	}
	return netip.AddrFrom4([4]byte(id)).String()
}
