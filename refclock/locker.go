package refclock

import (
	"errors"
	"math"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// LockerConfig tunes the pairing of pulses with NMEA seconds. A zero field
// takes its value from DefaultLockerConfig, so LockerConfig{NMEADelay: d,
// MaxNMEADelay: m} is a complete configuration.
type LockerConfig struct {
	// NMEADelay is the receiver's typical delay from the pulse to the end of
	// the sentence naming it; it is subtracted for NMEA-only (GPS) samples
	// until the Locker has learned the delay from pulses (LearnedDelayMin
	// pairings).
	NMEADelay time.Duration
	// MaxNMEADelay is the longest a sentence may follow its pulse and still
	// name it; a later sentence is stale and numbers nothing. Must be < 1 s.
	MaxNMEADelay time.Duration
	// EdgeDelay is how long after the UTC second begins the local clock
	// stamps the edge (antenna and cable delay, receiver pulse offset, level
	// shifter): it is added to the pulse's reference time, so a positive
	// EdgeDelay raises Offset.
	EdgeDelay time.Duration
	// PPSErr is the (1 sigma) error given to pulse samples. Zero means the
	// PPS source's Precision under Run, DefaultPPSErr for a bare Locker.
	PPSErr time.Duration
	// NMEAErr is the (1 sigma) error given to NMEA-only samples.
	NMEAErr time.Duration
	// LockCount is how many consecutive pulses must be numbered consistently
	// (sentence and pulse continuity agreeing) before pulse samples flow.
	LockCount int
	// RelockAfter is how long sentences must consistently name a numbering
	// other than the established one before the Locker adopts it (the
	// receiver really changed). Shorter disagreements are rejected.
	RelockAfter time.Duration
	// MaxCoast is how long (local time) after the last pulse a sentence
	// confirmed pulses are still numbered by continuity alone (sentences
	// missing, stale or rejected); after it the lock is lost until
	// sentences number pulses again. It also bounds the gap between pulses
	// bridged by continuity. Keep it above RelockAfter, so a real change
	// of numbering is adopted while still locked.
	MaxCoast time.Duration
	// GridTolerance: for a source without sequence numbers, how far from a
	// whole number of seconds consecutive edges may be (the clock was
	// stepped between them) and still be linked by elapsed time. Such a
	// link, like one made across a step by sequence numbers, is unverified
	// until a sentence agrees with it; a wrong one (a step over half a
	// second) withholds samples until RelockAfter renumbers it.
	GridTolerance time.Duration
	// PulseTimeout: when no edge has been seen for this long before a
	// sentence arrives, the Locker works on NMEA alone (GPS samples).
	PulseTimeout time.Duration
	// AcceptInvalid makes sentences the receiver marks invalid (RMC status
	// V, GGA quality 0) usable; by default they are counted and dropped.
	AcceptInvalid bool
}

// Defaults used by DefaultLockerConfig.
const (
	// DefaultPPSErr is the pulse error assumed when neither the config nor
	// the source says (kernel PPS on a Pi).
	DefaultPPSErr = time.Microsecond
	// LearnedDelayMin is how many pulse-sentence pairings the Locker averages
	// before its learned NMEA delay replaces LockerConfig.NMEADelay.
	LearnedDelayMin = 8
)

// DefaultLockerConfig returns settings for a u-blox or MediaTek receiver at
// 9600 baud with kernel PPS.
func DefaultLockerConfig() LockerConfig {
	return LockerConfig{
		NMEADelay:     200 * time.Millisecond,
		MaxNMEADelay:  700 * time.Millisecond,
		NMEAErr:       10 * time.Millisecond,
		LockCount:     2,
		RelockAfter:   60 * time.Second,
		MaxCoast:      120 * time.Second,
		GridTolerance: 400 * time.Millisecond,
		PulseTimeout:  3 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultLockerConfig.
func (c LockerConfig) withDefaults() LockerConfig {
	d := DefaultLockerConfig()
	orDefault(&c.NMEADelay, d.NMEADelay)
	orDefault(&c.MaxNMEADelay, d.MaxNMEADelay)
	orDefault(&c.PPSErr, DefaultPPSErr)
	orDefault(&c.NMEAErr, d.NMEAErr)
	orDefault(&c.LockCount, d.LockCount)
	orDefault(&c.RelockAfter, d.RelockAfter)
	orDefault(&c.MaxCoast, d.MaxCoast)
	orDefault(&c.GridTolerance, d.GridTolerance)
	orDefault(&c.PulseTimeout, d.PulseTimeout)
	return c
}

// MaxEdgeDelay bounds |LockerConfig.EdgeDelay|: wiring, level shifters and
// antenna cable delay the pulse by nanoseconds to microseconds; more is a
// mistake of units.
const MaxEdgeDelay = time.Millisecond

// Validate reports a misconfiguration, a *FieldError for each field
// (joined by errors.Join); zero fields are valid (defaults).
func (c LockerConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if c.NMEADelay < 0 || c.NMEADelay >= time.Second {
		bad("NMEADelay", "%v outside [0, 1s)", c.NMEADelay)
	}
	if c.MaxNMEADelay < 0 || c.MaxNMEADelay >= time.Second {
		bad("MaxNMEADelay", "%v outside (0, 1s)", c.MaxNMEADelay)
	}
	if c.NMEADelay > c.MaxNMEADelay {
		bad("MaxNMEADelay", "%v is below the typical NMEA delay %v", c.MaxNMEADelay, c.NMEADelay)
	}
	if c.EdgeDelay < -MaxEdgeDelay || c.EdgeDelay > MaxEdgeDelay {
		bad("EdgeDelay", "%v is outside %v..%v", c.EdgeDelay, -MaxEdgeDelay, MaxEdgeDelay)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"PPSErr", c.PPSErr}, {"NMEAErr", c.NMEAErr}, {"RelockAfter", c.RelockAfter}, {"MaxCoast", c.MaxCoast}, {"PulseTimeout", c.PulseTimeout}} {
		if f.d < 0 {
			bad(f.name, "%v is negative", f.d)
		}
	}
	if c.LockCount < 1 {
		bad("LockCount", "%d is below 1", c.LockCount)
	}
	if c.GridTolerance < 0 || c.GridTolerance >= 500*time.Millisecond {
		bad("GridTolerance", "%v outside [0, 500ms)", c.GridTolerance)
	}
	return errors.Join(errs...)
}

// LockerStats counts what the Locker did with its inputs.
type LockerStats struct {
	// Edges is the number of assert edges taken; ClearEdges were ignored.
	Edges, ClearEdges uint64
	// Times is the number of time messages taken; Invalid of them were
	// marked invalid by the receiver and dropped.
	Times, Invalid uint64
	// Numbered pulses got their number from an agreeing sentence; Coasted
	// pulses from continuity alone (their sentence missing, stale or wrong).
	Numbered, Coasted uint64
	// Unnumbered pulses produced no sample: no agreeing sentence and no
	// numbering to coast on (chain broken or not yet locked, link across a
	// clock step not yet confirmed, MaxCoast exceeded).
	Unnumbered uint64
	// Steps counts clock steps seen between consecutive pulses (their
	// interval off whole seconds by more than any slew could make it).
	Steps uint64
	// Disagree counts sentences rejected because they named a second other
	// than the established pulse numbering.
	Disagree uint64
	// Stale counts sentences that followed no pulse within MaxNMEADelay
	// while pulses were arriving; Duplicate a second sentence for a pulse.
	Stale, Duplicate uint64
	// Renumbered counts adoptions of a new numbering after RelockAfter;
	// LeapSeconds counts renumberings across a leap second.
	Renumbered, LeapSeconds uint64
	// LockGained and LockLost count transitions of Locked.
	LockGained, LockLost uint64
	// PPSSamples and GPSSamples count samples returned by kind.
	PPSSamples, GPSSamples uint64
	// NTPNumbered counts pulses numbered from NTP time (AddEdgeFromNTP);
	// NTPUnsure those left unnumbered because the NTP time was missing or
	// not sure enough to name the second.
	NTPNumbered, NTPUnsure uint64
}

// Locker numbers each PPS pulse with the UTC second its NMEA sentence names
// and turns pulses (or, without pulses, sentences) into samples. It is pure:
// inputs carry their local timestamps and must be given in arrival order;
// it is not safe for concurrent use.
//
// The Locker keeps a chain: every pulse is linked to the one before by
// continuity. Consecutive edges a whole number of seconds apart within the
// largest possible slew (1 ms/s) saw no clock step, so elapsed time says how
// many pulses passed (sources that miss pulses without counting them are
// covered), unless the clock is half a second or more off, when a servo may
// have stepped it by whole seconds. Across a step (or a stamp late by over
// a millisecond) the source's sequence numbers say it, and the link is
// unverified until a sentence agrees. The sentence that follows a
// pulse within MaxNMEADelay names the second that began at that pulse:
// LockCount agreeing sentences in a row lock the chain, and from then on
// the chain is the authority. A sentence naming another second is rejected
// (Disagree) and the pulse is numbered by the chain instead (Coasted), as is
// a pulse whose sentence is missing; only a different numbering named
// consistently for RelockAfter is adopted (Renumbered), or a leap second.
// Pulses on an unverified link give no sample until a sentence agrees. When
// no pulses arrive for PulseTimeout, sentences alone give GPS samples.
type Locker struct {
	cfg LockerConfig

	// chain is the latest pulse, numbered (chainOK) by the chain.
	chain    pulse
	chainOK  bool
	seenEdge bool
	// verified: a sentence agreed with the chain since it last crossed a
	// clock step.
	verified bool
	// resolved: the latest pulse has had its sample or been given up.
	resolved bool

	locked bool
	agree  int
	// gpsMode: pulses stopped; sentences give GPS samples. The chain is
	// kept, so returning pulses continue it if no step intervened.
	gpsMode bool
	// wasLocked is Locked() after the previous input, for LockGained/Lost.
	wasLocked bool
	// confirmed is the local time of the last pulse a sentence numbered.
	confirmed time.Time

	// cand is a numbering that sentences keep naming against the chain:
	// label - chain label, since when.
	cand       time.Duration
	candSince  time.Time
	candActive bool

	delayEst time.Duration
	delayN   int

	stats LockerStats
}

type pulse struct {
	t     time.Time
	seq   uint64
	label time.Time // UTC second the pulse began, when the chain knows it
}

// NewLocker returns a Locker with cfg; zero fields take defaults. A config
// that fails Validate is used as given after defaults (callers validate at
// start).
func NewLocker(cfg LockerConfig) *Locker { return &Locker{cfg: cfg.withDefaults()} }

// Config returns the Locker's effective configuration (defaults filled in).
func (l *Locker) Config() LockerConfig { return l.cfg }

// Locked reports whether the Locker holds a pulse numbering and pulses
// arrive: PPS samples flow (except for pulses on a link made across a clock
// step, until a sentence confirms it).
func (l *Locker) Locked() bool { return l.locked && l.chainOK && !l.gpsMode }

// track counts transitions of Locked.
func (l *Locker) track() {
	now := l.Locked()
	switch {
	case now && !l.wasLocked:
		l.stats.LockGained++
	case !now && l.wasLocked:
		l.stats.LockLost++
	}
	l.wasLocked = now
}

// Stats returns the Locker's counters.
func (l *Locker) Stats() LockerStats { return l.stats }

// NMEADelay returns the delay from pulse to sentence end used for GPS
// samples: the learned average once LearnedDelayMin pulses have been paired
// with sentences, else the configured NMEADelay; learned reports which.
func (l *Locker) NMEADelay() (d time.Duration, learned bool) {
	if l.delayN >= LearnedDelayMin {
		return l.delayEst, true
	}
	return l.cfg.NMEADelay, false
}

// Reset forgets the pulse numbering; counters and the learned delay stay.
func (l *Locker) Reset() {
	l.loseLock()
	l.chainOK, l.candActive = false, false
	l.track()
}

func (l *Locker) loseLock() { l.locked, l.agree = false, 0 }

// AddEdge takes one PPS edge. It returns a sample when the previous pulse,
// whose sentence did not come, could be numbered by the chain (the sample
// then refers to that previous pulse, a second old; none is given if the
// local clock was evidently stepped since); the new pulse waits for its
// sentence.
func (l *Locker) AddEdge(e pps.Edge) (source.Sample, bool) {
	if !e.Assert {
		l.stats.ClearEdges++
		return source.Sample{}, false
	}
	l.stats.Edges++
	defer l.track()
	var s source.Sample
	var ok bool
	if l.seenEdge && !l.resolved {
		l.resolved = true
		// A coasted sample reaching the servo after it stepped the clock
		// would make it correct the step twice.
		if l.canCoast() && !steppedBetween(l.chain.t, e.Time) {
			l.stats.Coasted++
			s, ok = l.emit()
		} else {
			l.stats.Unnumbered++
		}
	}
	l.advance(e)
	return s, ok
}

// canCoast reports whether the latest pulse may be given a sample on the
// chain's word alone.
func (l *Locker) canCoast() bool {
	return l.locked && l.chainOK && l.verified && l.chain.t.Sub(l.confirmed) <= l.cfg.MaxCoast
}

// advance links edge e to the chain.
func (l *Locker) advance(e pps.Edge) {
	prev, hadEdge := l.chain, l.seenEdge
	wasOK := l.chainOK && hadEdge
	l.chain = pulse{t: e.Time, seq: e.Seq}
	l.seenEdge, l.resolved, l.gpsMode = true, false, false
	if hadEdge && steppedBetween(prev.t, e.Time) {
		l.stats.Steps++
	}
	if !wasOK {
		l.chainOK = false
		return
	}
	if e.Time.Sub(l.confirmed) > l.cfg.MaxCoast {
		l.chainOK = false // too long without a sentence's word
		l.loseLock()
		return
	}
	n, sure, ok := l.link(prev, e)
	if !ok {
		l.chainOK = false
		l.loseLock()
		return
	}
	l.chain.label = prev.label.Add(time.Duration(n) * time.Second)
	if !sure {
		l.verified = false
	}
}

// maxSlewPerSecond bounds how far from whole seconds consecutive pulses
// may be stamped with no step between them: 1000 ppm, twice the kernel's
// slew and frequency limits.
const maxSlewPerSecond = time.Millisecond

// steppedBetween reports whether the local clock was stepped between pulses
// stamped at a and b.
func steppedBetween(a, b time.Time) bool {
	_, tight := wholeSeconds(b.Sub(a))
	return !tight
}

// wholeSeconds rounds dt to n >= 0 seconds and reports whether it is within
// the largest possible slew of that (so no step happened in dt).
func wholeSeconds(dt time.Duration) (n int64, tight bool) {
	n = int64(math.Round(dt.Seconds()))
	resid := dt - time.Duration(n)*time.Second
	return n, n >= 1 && resid.Abs() <= time.Duration(n)*maxSlewPerSecond
}

// link returns how many pulses passed from prev to e, whether that is sure
// (no clock step could hide whole seconds in between), and whether it is
// known at all.
func (l *Locker) link(prev pulse, e pps.Edge) (n int64, sure, ok bool) {
	dt := e.Time.Sub(prev.t)
	nT, tight := wholeSeconds(dt)
	var nS int64
	seqOK := prev.seq != 0 && e.Seq > prev.seq
	if seqOK {
		nS = int64(e.Seq - prev.seq)
	}
	maxN := int64(l.cfg.MaxCoast / time.Second)
	// A clock far off (|offset| >= 0.5 s) may be stepped by whole seconds,
	// which a tight interval would not show.
	farOff := prev.label.Sub(prev.t).Abs() >= 500*time.Millisecond
	switch {
	case tight && nT <= maxN && (!seqOK || nS == nT || !farOff):
		// No step: elapsed time counts the pulses, including any the
		// source missed without counting.
		return nT, true, true
	case seqOK && nS <= maxN:
		// A step: the source's count, to be confirmed by a sentence.
		return nS, false, true
	case !seqOK && nT >= 1 && nT <= maxN && (dt-time.Duration(nT)*time.Second).Abs() <= l.cfg.GridTolerance:
		return nT, false, true
	}
	return 0, false, false
}

// AddTime takes one NMEA time message. It returns a PPS sample for the pulse
// the message follows once that pulse is numbered, or a GPS sample when no
// pulses arrive.
func (l *Locker) AddTime(m TimeMsg) (source.Sample, bool) {
	l.stats.Times++
	defer l.track()
	if !m.Valid && !l.cfg.AcceptInvalid {
		l.stats.Invalid++
		return source.Sample{}, false
	}
	label := m.UTC.Truncate(time.Second)
	if !l.seenEdge || m.Received.Sub(l.chain.t) > l.cfg.PulseTimeout {
		l.gpsMode = true
		return l.gpsSample(label, m.Received), true
	}
	d := m.Received.Sub(l.chain.t)
	if d < 0 || d > l.cfg.MaxNMEADelay {
		l.stats.Stale++
		return source.Sample{}, false
	}
	if l.resolved {
		l.stats.Duplicate++
		return source.Sample{}, false
	}
	l.resolved = true
	if !l.chainOK {
		return l.anchor(label, d)
	}
	pred := l.chain.label
	switch {
	case label.Equal(pred):
		l.verified = true
		l.confirm(d)
		l.stats.Numbered++
		l.agree++
		if l.agree >= l.cfg.LockCount {
			l.locked = true
		}
		return l.emit()
	case isLeap(m, label, pred):
		// A leap second renumbers the pulse train by design: the pulse of
		// 23:59:60 carries the POSIX number of the repeated 23:59:59.
		l.chain.label, l.verified = label, true
		l.confirm(d)
		l.stats.LeapSeconds++
		return l.emit()
	case !l.locked:
		// Still acquiring: one of the two sentences was wrong; start
		// counting agreements afresh from this one.
		return l.anchor(label, d)
	}
	l.stats.Disagree++
	diff := label.Sub(pred)
	if !l.candActive || l.cand != diff {
		l.cand, l.candSince, l.candActive = diff, l.chain.t, true
	}
	if l.chain.t.Sub(l.candSince) >= l.cfg.RelockAfter {
		l.chain.label, l.verified = label, true
		l.confirm(d)
		l.stats.Renumbered++
		return l.emit()
	}
	if l.canCoast() {
		l.stats.Coasted++
		return l.emit()
	}
	return source.Sample{}, false
}

// anchor starts the chain at the latest pulse with the sentence's label.
func (l *Locker) anchor(label time.Time, d time.Duration) (source.Sample, bool) {
	l.loseLock()
	l.chain.label, l.chainOK, l.verified = label, true, true
	l.confirm(d)
	l.agree = 1
	if l.agree >= l.cfg.LockCount {
		l.locked = true
	}
	return l.emit()
}

// confirm records that a sentence numbered the latest pulse d after it.
func (l *Locker) confirm(d time.Duration) {
	l.confirmed = l.chain.t
	l.candActive = false
	l.learnDelay(d)
}

// emit returns the latest pulse's sample if locked and verified.
func (l *Locker) emit() (source.Sample, bool) {
	if !l.Locked() || !l.verified {
		return source.Sample{}, false
	}
	l.stats.PPSSamples++
	return l.sample(l.chain), true
}

// sample is the pulse sample for a numbered pulse: reference - local.
func (l *Locker) sample(p pulse) source.Sample {
	ref := p.label.Add(l.cfg.EdgeDelay)
	return l.refSample(source.KindPPS, p.t, ref.Sub(p.t), l.cfg.PPSErr)
}

func (l *Locker) gpsSample(label, rx time.Time) source.Sample {
	l.stats.GPSSamples++
	d, _ := l.NMEADelay()
	return l.refSample(source.KindGPS, rx, label.Add(d).Sub(rx), l.cfg.NMEAErr)
}

// refSample is a sample of the refclock: stratum 0 behind it, no delay, an
// error bound of ErrorBoundSigmas times its sigma.
func (l *Locker) refSample(kind source.Kind, local time.Time, off, sigma time.Duration) source.Sample {
	id := ntp.RefIDPPS
	if kind == source.KindGPS {
		id = ntp.RefIDGPS
	}
	return source.Sample{Source: source.RefclockID, Kind: kind, Local: local, Offset: off,
		Sigma: sigma, ErrorBound: ErrorBoundSigmas * sigma, RefID: id}
}

// ErrorBoundSigmas is how many sigmas a refclock sample's ErrorBound spans.
const ErrorBoundSigmas = 3

// learnDelay averages the pulse-to-sentence delay (exponentially, over
// about 16 seconds) for use in GPS samples when pulses stop.
func (l *Locker) learnDelay(d time.Duration) {
	if l.delayN == 0 {
		l.delayEst = d
	} else {
		l.delayEst += (d - l.delayEst) / 16
	}
	if l.delayN < LearnedDelayMin {
		l.delayN++
	}
}

// isLeap reports whether a sentence naming label against the chain's pred
// is a leap second: the sentence said second 60 and names pred - 1 s (the
// repeated POSIX second), or it names 00:00:00 on 1 January or 1 July one
// second ahead of pred (a negative leap second skipped 23:59:59).
func isLeap(m TimeMsg, label, pred time.Time) bool {
	if m.LeapSecond && label.Equal(pred.Add(-time.Second)) {
		return true
	}
	if label.Equal(pred.Add(time.Second)) && label.Hour() == 0 && label.Minute() == 0 &&
		label.Second() == 0 && label.Day() == 1 && (label.Month() == time.January || label.Month() == time.July) {
		return true
	}
	return false
}

// NTPTime is the selected NTP source's time, for numbering a bare PPS wire
// (no NMEA): Offset = NTP reference - local clock, known within ErrorBound
// (the source's root distance grown with its sample's age).
type NTPTime struct {
	Offset     time.Duration
	ErrorBound time.Duration
}

// Bounds of numbering pulses from NTP time.
const (
	// MaxNTPNumberingBound is the largest NTP error bound pulses are
	// numbered with: well under the half second that would make the
	// second ambiguous.
	MaxNTPNumberingBound = 100 * time.Millisecond
	// NTPNumberingMargin: a pulse is numbered only when its NTP time is
	// this far at least from the middle between two seconds, error bound
	// included (a pulse half a second from NTP's seconds is not a pulse
	// of the UTC second, or NTP is wrong).
	NTPNumberingMargin = 100 * time.Millisecond
)

// AddEdgeFromNTP numbers one PPS edge from NTP time instead of NMEA (a bare
// PPS wire, as chrony's lock to an NTP source): the pulse marks the UTC
// second nearest its NTP time. It returns the pulse's sample, kind PPS,
// refid PPS, when have is true, t's error bound is below
// MaxNTPNumberingBound, and the NTP time of the pulse is within half a
// second less NTPNumberingMargin of that second, error bound included;
// else the pulse is left unnumbered (NTPUnsure).
func (l *Locker) AddEdgeFromNTP(e pps.Edge, t NTPTime, have bool) (source.Sample, bool) {
	if !e.Assert {
		l.stats.ClearEdges++
		return source.Sample{}, false
	}
	l.stats.Edges++
	if !have || t.ErrorBound < 0 || t.ErrorBound >= MaxNTPNumberingBound {
		l.stats.NTPUnsure++
		return source.Sample{}, false
	}
	at := e.Time.Add(t.Offset)
	label := at.Round(time.Second)
	if at.Sub(label).Abs()+t.ErrorBound > time.Second/2-NTPNumberingMargin {
		l.stats.NTPUnsure++
		return source.Sample{}, false
	}
	l.stats.NTPNumbered++
	l.stats.PPSSamples++
	return l.refSample(source.KindPPS, e.Time, label.Add(l.cfg.EdgeDelay).Sub(e.Time), l.cfg.PPSErr), true
}
