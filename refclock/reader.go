package refclock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// NMEAReader splits a byte stream into lines and parses them into
// TimeMsgs. Lines end at CR or LF (either or both); a line longer than
// MaxLineLen is dropped whole and counted, and a '$' starts a fresh line
// after an overlong one, so a stream of binary noise cannot hide the next
// sentence.
type NMEAReader struct {
	r       io.Reader
	p       *Parser
	now     func() time.Time
	maxLine int
}

// NewNMEAReader returns a reader of r parsing with cfg (zero fields take
// defaults). now is the local clock, read once each time r returns data;
// that reading is the Received time of every line completed by the data.
func NewNMEAReader(r io.Reader, cfg NMEAConfig, now func() time.Time) *NMEAReader {
	cfg = cfg.withDefaults()
	return &NMEAReader{r: r, p: NewParser(cfg), now: now, maxLine: cfg.MaxLineLen}
}

// Stats returns the live counters of the reader and its parser.
func (n *NMEAReader) Stats() *NMEAStats { return n.p.Stats() }

// Run reads until r fails or ctx is done, sending a TimeMsg per UTC second
// on out. It returns ctx.Err() when ctx is done, else the read error
// (wrapping io.EOF at the end of the stream). A Read blocked in r is not
// interrupted by ctx: give it a ReopenReader, which closes its device when
// ctx is done.
func (n *NMEAReader) Run(ctx context.Context, out chan<- TimeMsg) error {
	buf := make([]byte, 512)
	line := make([]byte, 0, n.maxLine)
	overlong := false
	stats := n.p.Stats()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := n.r.Read(buf)
		rx := n.now()
		for _, b := range buf[:k] {
			switch {
			case b == '\n' || b == '\r':
				if overlong {
					overlong = false
					stats.Overlong.Add(1)
					stats.Lines.Add(1)
				} else if len(line) > 0 {
					if m, ok := n.p.Line(string(line), rx); ok {
						select {
						case out <- m:
						case <-ctx.Done():
							return ctx.Err()
						}
					}
				}
				line = line[:0]
			case b == '$' && overlong:
				overlong = false
				stats.Overlong.Add(1)
				stats.Lines.Add(1)
				line = append(line[:0], b)
			case overlong:
			case len(line) >= n.maxLine:
				overlong = true
				line = line[:0]
			default:
				line = append(line, b)
			}
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("refclock: read nmea: %w", rerr)
		}
	}
}

// ReopenConfig tunes ReopenReader's backoff between attempts to open the
// device.
type ReopenConfig struct {
	// MinBackoff is the wait before the first reopen; each further failure
	// doubles it up to MaxBackoff. Data read resets it.
	MinBackoff, MaxBackoff time.Duration
}

// DefaultReopenConfig returns 100 ms .. 10 s.
func DefaultReopenConfig() ReopenConfig {
	return ReopenConfig{MinBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second}
}

func (c ReopenConfig) withDefaults() ReopenConfig {
	d := DefaultReopenConfig()
	orDefault(&c.MinBackoff, d.MinBackoff)
	orDefault(&c.MaxBackoff, d.MaxBackoff)
	return c
}

// Validate reports a misconfiguration; zero fields are valid (defaults).
func (c ReopenConfig) Validate() error {
	c = c.withDefaults()
	if c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff {
		return fmt.Errorf("refclock: reopen config: backoff %v..%v is not an increasing positive range", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}

// ErrReaderClosed is returned by ReopenReader.Read after Close.
var ErrReaderClosed = errors.New("refclock: reopen reader closed")

// ReopenReader is an io.ReadCloser over a device that may fail or vanish
// (a USB serial adapter unplugged, a UART reset): on a read error or EOF
// it closes the device, logs, and reopens it with exponential backoff,
// until its context is done. When the context is done the current device is
// closed, which unblocks a pending Read (os.File on a tty, io.Pipe and
// net.Conn unblock on Close).
//
// A tarm/serial port opened with a ReadTimeout returns EOF on every timeout
// and so would be reopened each time: open it without one.
type ReopenReader struct {
	ctx   context.Context
	open  func() (io.ReadCloser, error)
	cfg   ReopenConfig
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	cur      io.ReadCloser
	closed   bool
	failures int // consecutive failures since data was last read

	opens, openErrors, readErrors atomic.Uint64
	stop                          func() bool
}

// NewReopenReader returns a ReopenReader opening devices with open; the
// first open happens on the first Read. log may be nil.
func NewReopenReader(ctx context.Context, open func() (io.ReadCloser, error), cfg ReopenConfig, log *slog.Logger) *ReopenReader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &ReopenReader{ctx: ctx, open: open, cfg: cfg.withDefaults(), log: log, sleep: sleepCtx}
	r.mu.Lock() // Close, run by AfterFunc, waits until stop is set
	r.stop = context.AfterFunc(ctx, func() { r.Close() })
	r.mu.Unlock()
	return r
}

// ReopenStats counts a ReopenReader's device events.
type ReopenStats struct {
	// Opens succeeded, OpenErrors failed; ReadErrors ended a device's use
	// (EOF included).
	Opens, OpenErrors, ReadErrors uint64
}

// Stats returns the counters; safe to call from any goroutine.
func (r *ReopenReader) Stats() ReopenStats {
	return ReopenStats{Opens: r.opens.Load(), OpenErrors: r.openErrors.Load(), ReadErrors: r.readErrors.Load()}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Read reads from the current device, reopening it as needed. It returns
// an error only when the context is done (ctx.Err()) or after Close.
func (r *ReopenReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	zero := 0
	for {
		dev, err := r.device()
		if err != nil {
			return 0, err
		}
		n, err := dev.Read(p)
		if n > 0 {
			r.mu.Lock()
			r.failures = 0
			r.mu.Unlock()
			if err != nil {
				r.drop(dev, err)
			}
			return n, nil
		}
		if err == nil {
			// io.Reader allows (0, nil) but a device that keeps
			// returning it is as good as gone.
			if zero++; zero < 100 {
				continue
			}
			err = io.ErrNoProgress
		}
		zero = 0
		r.drop(dev, err)
	}
}

// drop closes a failed device so the next Read reopens it.
func (r *ReopenReader) drop(dev io.ReadCloser, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != dev {
		return // Close got there first
	}
	r.cur = nil
	r.failures++
	cerr := dev.Close()
	if r.closed || r.ctx.Err() != nil {
		return
	}
	r.readErrors.Add(1)
	if cerr != nil {
		r.log.Debug("closing failed nmea device", "err", cerr)
	}
	r.log.Warn("nmea device failed; reopening", "err", err, "retry_in", r.backoff())
}

// device returns the open device, opening one (after the backoff that the
// failures so far call for) if there is none.
func (r *ReopenReader) device() (io.ReadCloser, error) {
	for {
		r.mu.Lock()
		if r.closed || r.ctx.Err() != nil {
			r.mu.Unlock()
			if err := r.ctx.Err(); err != nil {
				return nil, err
			}
			return nil, ErrReaderClosed
		}
		if r.cur != nil {
			dev := r.cur
			r.mu.Unlock()
			return dev, nil
		}
		wait := r.backoff()
		r.mu.Unlock()
		if wait > 0 {
			if err := r.sleep(r.ctx, wait); err != nil {
				return nil, err
			}
		}
		dev, err := r.open()
		r.mu.Lock()
		switch {
		case err != nil:
			r.failures++
			r.openErrors.Add(1)
			r.log.Warn("opening nmea device failed", "err", err, "retry_in", r.backoff())
		case r.closed:
			dev.Close()
		default:
			r.cur = dev
			r.opens.Add(1)
			r.log.Info("nmea device opened", "attempt_failures", r.failures)
		}
		r.mu.Unlock()
	}
}

// backoff is the wait before the next open: 0 at first, then MinBackoff
// doubling per consecutive failure up to MaxBackoff. Called with mu held.
func (r *ReopenReader) backoff() time.Duration {
	if r.failures == 0 {
		return 0
	}
	d := r.cfg.MinBackoff
	for i := 1; i < r.failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.cfg.MaxBackoff)
}

// Close closes the current device and makes Read fail from now on.
func (r *ReopenReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.stop()
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		if err != nil {
			return fmt.Errorf("refclock: close nmea device: %w", err)
		}
	}
	return nil
}
