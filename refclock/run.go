package refclock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// Config gathers the refclock settings. Zero fields take defaults.
type Config struct {
	// NMEA configures the sentence parser and line reader.
	NMEA NMEAConfig
	// Locker configures the pairing of pulses with NMEA seconds.
	Locker LockerConfig
	// Filter configures the PPS outlier filter.
	Filter FilterConfig
	// NoFilter passes every PPS sample on, outliers included.
	NoFilter bool
	// Reopen configures the backoff of a ReopenReader over the serial
	// port (used by whoever opens it; Run takes any io.Reader).
	Reopen ReopenConfig
	// NMEADelayErr is the uncertainty (half-width) of Locker.NMEADelay:
	// NMEA-only (GPS) samples carry at least this root dispersion until
	// the delay is learned from pulses, and at least the observed spread
	// of the sentences' arrival always (see nmeaBound). Zero means
	// DefaultNMEADelayErr; give a measured delay a smaller one.
	NMEADelayErr time.Duration
}

// DefaultConfig returns the default settings.
func DefaultConfig() Config {
	return Config{
		NMEA:   DefaultNMEAConfig(),
		Locker: DefaultLockerConfig(),
		Filter: DefaultFilterConfig(),
		Reopen: DefaultReopenConfig(),
	}
}

// Validate reports every misconfiguration at once; the Locker's as
// *FieldErrors naming "Locker." and the field.
func (c Config) Validate() error {
	var errs []error
	if c.NMEADelayErr < 0 || c.NMEADelayErr >= time.Second {
		errs = append(errs, fieldErr("NMEADelayErr", "%v outside [0, 1s)", c.NMEADelayErr))
	}
	return errors.Join(append(errs, c.NMEA.Validate(), fielderr.Nest("Locker", c.Locker.Validate()), c.Filter.Validate(), c.Reopen.Validate())...)
}

// Status is a snapshot of the refclock's state and counters.
type Status struct {
	// Locked: pulses are numbered and PPS samples flow.
	Locked bool
	// RefID of the last sample sent (ntp.RefIDPPS, ntp.RefIDGPS), zero
	// before any.
	RefID ntp.RefID
	// Last is the last sample sent.
	Last source.Sample
	// Receiver is what the last time message said.
	Receiver Receiver
	// LastEdge is the local timestamp of the last PPS edge read (zero
	// before any).
	LastEdge time.Time
	// NMEADelay is the pulse-to-sentence delay used for GPS samples and
	// whether it was learned from pulses.
	NMEADelay        time.Duration
	NMEADelayLearned bool
	// Counters of each stage.
	NMEA   NMEACounts
	Locker LockerStats
	Filter FilterStats
	// Sent counts samples delivered on out.
	Sent uint64
	// Reopen counts the serial port's reopens (under a Device).
	Reopen ReopenStats
}

// RefClock is the refclock I/O edge: it reads NMEA and pulses in their own
// goroutines and feeds one goroutine that owns the Locker and the Filter
// and sends the samples.
type RefClock struct {
	cfg    Config
	log    *slog.Logger
	status atomic.Pointer[Status]
	nmea   atomic.Pointer[NMEAStats]
	// ntpTime, when set, numbers the pulses from NTP time instead of NMEA
	// (a bare PPS wire).
	ntpTime func(local time.Time) (NTPTime, bool)
}

// SetNTPTime makes Run number every pulse from the selected NTP source's
// time, f(the pulse's local stamp), instead of NMEA sentences: a bare PPS
// wire with no NMEA (Locker.AddEdgeFromNTP). Call it before Run.
func (rc *RefClock) SetNTPTime(f func(local time.Time) (NTPTime, bool)) { rc.ntpTime = f }

// New returns a RefClock with cfg (zero fields take defaults); it fails if
// cfg does not validate. log may be nil.
func New(cfg Config, log *slog.Logger) (*RefClock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rc := &RefClock{cfg: cfg, log: log}
	rc.status.Store(&Status{})
	return rc, nil
}

// Status returns the latest snapshot; safe from any goroutine. NMEA
// counters are live; the rest is as of the last event handled.
func (rc *RefClock) Status() Status {
	st := *rc.status.Load()
	if n := rc.nmea.Load(); n != nil {
		st.NMEA = n.Snapshot()
	}
	return st
}

// Run reads NMEA from nmea and edges from pulses (nil: NMEA alone) and sends
// PPS samples (pulses numbered by NMEA, outliers filtered) or, without
// pulses, GPS samples on out until ctx is done (returning nil) or nmea
// fails (returning its error; pass a ReopenReader for a serial port so it
// never does). A failing pulse source is logged and Run carries on with
// NMEA alone. now is the local clock that stamps sentences; it must be the
// clock the pulses are stamped with. Run does not wait for a Read blocked in
// nmea (a ReopenReader is closed by ctx) and does not close pulses. Call Run
// once per RefClock.
func (rc *RefClock) Run(ctx context.Context, nmea io.Reader, pulses pps.Source, now func() time.Time, out chan<- source.Sample) error {
	if nmea == nil || now == nil || out == nil {
		return errors.New("refclock: Run needs an NMEA reader, a clock and an output channel")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	lcfg := rc.cfg.Locker
	if lcfg.PPSErr == 0 && pulses != nil {
		lcfg.PPSErr = pulses.Precision()
	}
	pipe := NewPipeline(lcfg, rc.cfg.Filter, rc.cfg.NoFilter)
	locker := pipe.Locker()
	bound := newNMEABound(cmp.Or(rc.cfg.NMEADelayErr, DefaultNMEADelayErr))
	reader := NewNMEAReader(nmea, rc.cfg.NMEA, now)
	rc.nmea.Store(reader.Stats())

	msgs := make(chan TimeMsg, 4)
	nmeaErr := make(chan error, 1)
	go func() { nmeaErr <- reader.Run(ctx, msgs) }()

	var edges chan pps.Edge
	var ppsErr chan error
	if pulses != nil {
		edges, ppsErr = make(chan pps.Edge, 4), make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				e, err := pulses.Next(ctx)
				if err != nil {
					ppsErr <- err
					return
				}
				select {
				case edges <- e:
				case <-ctx.Done():
					return
				}
			}
		}()
	} else {
		rc.log.Info("no pps source: NMEA alone, millisecond accuracy")
	}
	if rc.ntpTime != nil && pulses != nil {
		rc.log.Info("pps numbered from NTP time: each pulse marks the UTC second the selected upstream names (no NMEA)",
			"max_ntp_error", MaxNTPNumberingBound)
	}

	var st Status
	publish := func() {
		st.Locked = locker.Locked()
		st.NMEADelay, st.NMEADelayLearned = locker.NMEADelay()
		st.Locker = locker.Stats()
		st.Filter = pipe.Filter().Stats()
		s := st
		rc.status.Store(&s)
	}
	for {
		var s source.Sample
		var ok bool
		var ev PipelineEvent
		select {
		case <-ctx.Done():
			return nil
		case err := <-nmeaErr:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case err := <-ppsErr:
			if ctx.Err() != nil {
				return nil
			}
			rc.log.Error("pps source failed; continuing on NMEA alone", "err", err)
			edges, ppsErr = nil, nil
			continue
		case m := <-msgs:
			st.Receiver = Receiver{Time: m.UTC, Received: m.Received, Valid: m.Valid, Fix: m.Fix, Sats: m.Sats,
				HDOP: m.HDOP, InView: m.InView, Sky: m.Sky, Sentence: m.Sentence}
			bound.observe(m)
			s, ok, ev = pipe.AddTime(m)
			if ok {
				_, learned := locker.NMEADelay()
				bound.apply(&s, learned)
			}
		case e := <-edges:
			st.LastEdge = e.Time
			if rc.ntpTime != nil {
				t, have := rc.ntpTime(e.Time)
				s, ok = pipe.AddEdgeFromNTP(e, t, have)
			} else {
				s, ok, ev = pipe.AddEdge(e)
			}
		}
		switch ev {
		case NumberingLocked:
			rc.log.Info("pps locked to nmea", "offset", s.Offset)
		case NumberingLost:
			rc.log.Warn("pps lock lost", "stats", fmt.Sprintf("%+v", locker.Stats()))
		case NumberingAdopted:
			rc.log.Warn("receiver changed its second numbering; adopted", "offset", s.Offset)
		}
		if ok {
			if s.RefID != st.RefID {
				rc.log.Info("refclock samples", "refid", s.RefID)
			}
			select {
			case out <- s:
				st.Sent++
				st.RefID = s.RefID
				st.Last = s
			case <-ctx.Done():
				return nil
			}
		}
		publish()
	}
}

// Run is New(cfg, log) followed by RefClock.Run.
func Run(ctx context.Context, cfg Config, nmea io.Reader, pulses pps.Source, now func() time.Time, out chan<- source.Sample, log *slog.Logger) error {
	rc, err := New(cfg, log)
	if err != nil {
		return err
	}
	return rc.Run(ctx, nmea, pulses, now, out)
}
