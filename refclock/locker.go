package refclock

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
)

// RefID values carried by Samples.
const (
	// RefIDPPS marks a sample from a pulse numbered by NMEA.
	RefIDPPS = "PPS"
	// RefIDGPS marks a sample from NMEA alone (milliseconds good).
	RefIDGPS = "GPS"
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
	// GridTolerance is how far from a whole number of seconds after the last
	// numbered pulse an edge may be and still count as continuing the pulse
	// train (covers oscillator error over MaxCoast and small clock steps).
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
		GridTolerance: 100 * time.Millisecond,
		PulseTimeout:  3 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultLockerConfig.
func (c LockerConfig) withDefaults() LockerConfig {
	d := DefaultLockerConfig()
	if c.NMEADelay == 0 {
		c.NMEADelay = d.NMEADelay
	}
	if c.MaxNMEADelay == 0 {
		c.MaxNMEADelay = d.MaxNMEADelay
	}
	if c.PPSErr == 0 {
		c.PPSErr = DefaultPPSErr
	}
	if c.NMEAErr == 0 {
		c.NMEAErr = d.NMEAErr
	}
	if c.LockCount == 0 {
		c.LockCount = d.LockCount
	}
	if c.RelockAfter == 0 {
		c.RelockAfter = d.RelockAfter
	}
	if c.MaxCoast == 0 {
		c.MaxCoast = d.MaxCoast
	}
	if c.GridTolerance == 0 {
		c.GridTolerance = d.GridTolerance
	}
	if c.PulseTimeout == 0 {
		c.PulseTimeout = d.PulseTimeout
	}
	return c
}

// Validate reports a misconfiguration; zero fields are valid (defaults).
func (c LockerConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.NMEADelay < 0 || c.NMEADelay >= time.Second {
		errs = append(errs, fmt.Errorf("NMEADelay %v outside [0, 1s)", c.NMEADelay))
	}
	if c.MaxNMEADelay < 0 || c.MaxNMEADelay >= time.Second {
		errs = append(errs, fmt.Errorf("MaxNMEADelay %v outside (0, 1s)", c.MaxNMEADelay))
	}
	if c.NMEADelay > c.MaxNMEADelay {
		errs = append(errs, fmt.Errorf("NMEADelay %v > MaxNMEADelay %v", c.NMEADelay, c.MaxNMEADelay))
	}
	if c.EdgeDelay <= -time.Second || c.EdgeDelay >= time.Second {
		errs = append(errs, fmt.Errorf("EdgeDelay %v outside (-1s, 1s)", c.EdgeDelay))
	}
	if c.PPSErr < 0 || c.NMEAErr < 0 {
		errs = append(errs, fmt.Errorf("negative PPSErr %v or NMEAErr %v", c.PPSErr, c.NMEAErr))
	}
	if c.LockCount < 1 {
		errs = append(errs, fmt.Errorf("LockCount %d < 1", c.LockCount))
	}
	if c.RelockAfter < 0 || c.MaxCoast < 0 || c.PulseTimeout < 0 {
		errs = append(errs, errors.New("negative RelockAfter, MaxCoast or PulseTimeout"))
	}
	if c.GridTolerance < 0 || c.GridTolerance >= 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("GridTolerance %v outside [0, 500ms)", c.GridTolerance))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refclock: locker config: %w", err)
	}
	return nil
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
	// Unnumbered pulses produced no sample: no sentence and no continuity.
	Unnumbered uint64
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
	// PPSSamples and GPSSamples count samples returned by RefID.
	PPSSamples, GPSSamples uint64
}

// Locker numbers each PPS pulse with the UTC second its NMEA sentence names
// and turns pulses (or, without pulses, sentences) into samples. It is pure:
// inputs carry their local timestamps and must be given in arrival order;
// it is not safe for concurrent use.
//
// The sentence that follows a pulse within MaxNMEADelay names the second
// that began at that pulse. Once LockCount consecutive pulses have been
// numbered both by their sentence and by continuity with the previous
// numbered pulse (sequence number and elapsed local time agreeing on a whole
// number of seconds), the Locker is locked: from then on continuity is the
// authority, a sentence naming another second is rejected (Disagree) and the
// pulse is numbered by continuity instead, and a pulse whose sentence is
// missing is numbered by continuity too (Coasted). Only a different
// numbering named consistently for RelockAfter is adopted. When no pulses
// arrive for PulseTimeout, sentences alone give GPS samples.
type Locker struct {
	cfg LockerConfig

	// anchor is the latest pulse with a known number.
	anchor    pulse
	hasAnchor bool
	// pending is the latest pulse, resolved once it has been numbered or
	// given up on.
	pending    pulse
	hasPending bool
	resolved   bool
	lastEdge   time.Time
	seenEdge   bool

	locked bool
	agree  int
	// confirmed is the local time of the last pulse a sentence numbered.
	confirmed time.Time

	// cand is a numbering that sentences keep naming against the
	// established one: label - continuity label, since when.
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
	label time.Time // UTC second the pulse began; zero when unknown
}

// NewLocker returns a Locker with cfg; zero fields take defaults. A config
// that fails Validate is used as given after defaults (callers validate at
// start).
func NewLocker(cfg LockerConfig) *Locker { return &Locker{cfg: cfg.withDefaults()} }

// Config returns the Locker's effective configuration (defaults filled in).
func (l *Locker) Config() LockerConfig { return l.cfg }

// Locked reports whether pulses are currently numbered (PPS samples flow).
func (l *Locker) Locked() bool { return l.locked }

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

// Reset forgets the pulse numbering (for example after the local clock was
// stepped by more than GridTolerance); counters and the learned delay stay.
func (l *Locker) Reset() {
	if l.locked {
		l.stats.LockLost++
	}
	l.locked, l.agree = false, 0
	l.hasAnchor, l.hasPending, l.candActive = false, false, false
}

// AddEdge takes one PPS edge. It returns a sample when the previous pulse,
// whose sentence did not come, could be numbered by continuity (the sample
// then refers to that previous pulse, a second old; none is given if the
// local clock was evidently stepped since); the new pulse waits for its
// sentence.
func (l *Locker) AddEdge(e pps.Edge) (Sample, bool) {
	if !e.Assert {
		l.stats.ClearEdges++
		return Sample{}, false
	}
	l.stats.Edges++
	var s Sample
	var ok bool
	if l.hasPending && !l.resolved {
		if steppedBetween(l.pending.t, e.Time) {
			// The sample would reach the servo after it changed the clock
			// (a step lands between a sentence and the next pulse), and
			// correcting by it again would double the step.
			l.resolved = true
			l.stats.Unnumbered++
		} else {
			s, ok = l.coast()
		}
	}
	l.pending = pulse{t: e.Time, seq: e.Seq}
	l.hasPending, l.resolved = true, false
	l.lastEdge, l.seenEdge = e.Time, true
	return s, ok
}

// maxSlewPerSecond bounds how far from whole seconds consecutive pulses
// may be stamped with no step between them: 1000 ppm, twice the kernel's
// slew and frequency limits.
const maxSlewPerSecond = time.Millisecond

// steppedBetween reports whether the local clock was stepped between pulses
// stamped at a and b.
func steppedBetween(a, b time.Time) bool {
	dt := b.Sub(a)
	n := dt.Round(time.Second)
	if n < time.Second {
		return true
	}
	return (dt - n).Abs() > time.Duration(n/time.Second)*maxSlewPerSecond
}

// coast numbers the pending pulse by continuity, if locked.
func (l *Locker) coast() (Sample, bool) {
	l.resolved = true
	if !l.locked {
		l.stats.Unnumbered++
		return Sample{}, false
	}
	p := l.predict(l.pending)
	if !p.strong {
		l.stats.Unnumbered++
		if p.nweak == 0 {
			// Continuity is gone, not just ambiguous.
			l.locked, l.agree = false, 0
			l.stats.LockLost++
		}
		return Sample{}, false
	}
	l.stats.Coasted++
	return l.number(p.label), true
}

// AddTime takes one NMEA time message. It returns a PPS sample for the pulse
// the message follows once that pulse is numbered, or a GPS sample when no
// pulses arrive.
func (l *Locker) AddTime(m TimeMsg) (Sample, bool) {
	l.stats.Times++
	if !m.Valid && !l.cfg.AcceptInvalid {
		l.stats.Invalid++
		return Sample{}, false
	}
	label := m.UTC.Truncate(time.Second)
	if !l.seenEdge || m.Received.Sub(l.lastEdge) > l.cfg.PulseTimeout {
		if l.locked || l.hasAnchor {
			l.Reset()
		}
		return l.gpsSample(label, m.Received), true
	}
	d := m.Received.Sub(l.pending.t)
	if !l.hasPending || d < 0 || d > l.cfg.MaxNMEADelay {
		l.stats.Stale++
		return Sample{}, false
	}
	if l.resolved {
		l.stats.Duplicate++
		return Sample{}, false
	}
	l.resolved = true
	p := l.predict(l.pending)
	switch {
	case p.strong && label.Equal(p.label):
		l.candActive = false
		l.confirmed = l.pending.t
		l.learnDelay(d)
		l.stats.Numbered++
		l.agree++
		if !l.locked && l.agree >= l.cfg.LockCount {
			l.locked = true
			l.stats.LockGained++
		}
		return l.emit(label)
	case p.bySeq && isLeap(m, label, p.seqLabel):
		// A leap second renumbers the pulse train by design: the pulse of
		// 23:59:60 carries the POSIX number of the repeated 23:59:59.
		l.candActive = false
		l.confirmed = l.pending.t
		l.learnDelay(d)
		l.stats.LeapSeconds++
		return l.emit(label)
	case p.strong && l.locked:
		l.stats.Disagree++
		diff := label.Sub(p.label)
		if !l.candActive || l.cand != diff {
			l.cand, l.candSince, l.candActive = diff, l.pending.t, true
		}
		if l.pending.t.Sub(l.candSince) >= l.cfg.RelockAfter {
			l.candActive = false
			l.confirmed = l.pending.t
			l.stats.Renumbered++
			l.learnDelay(d)
			return l.emit(label)
		}
		l.stats.Coasted++
		return l.emit(p.label)
	case l.locked && p.weakMatch(label):
		// Continuity is ambiguous (sequence and local time disagree: the
		// clock was stepped or pulses went missing) and the sentence picks
		// one of its readings.
		l.candActive = false
		l.confirmed = l.pending.t
		l.learnDelay(d)
		l.stats.Numbered++
		return l.emit(label)
	case l.locked && p.nweak > 0:
		// Ambiguous continuity and a sentence matching neither reading:
		// most likely a wrong label (S9 across a missing pulse). Keep the
		// numbering and give no sample; the next agreeing sentence
		// confirms a pulse again, and after MaxCoast without one the
		// numbering is given up below.
		l.stats.Disagree++
		return Sample{}, false
	}
	// No usable continuity, or still acquiring with a disagreement: start
	// counting agreements afresh from this pulse.
	if l.locked {
		l.locked = false
		l.stats.LockLost++
	}
	l.candActive = false
	l.confirmed = l.pending.t
	l.anchor, l.hasAnchor = pulse{t: l.pending.t, seq: l.pending.seq, label: label}, true
	l.agree = 1
	if l.agree >= l.cfg.LockCount {
		l.locked = true
		l.stats.LockGained++
		l.stats.PPSSamples++
		return l.sample(l.anchor), true
	}
	return Sample{}, false
}

// emit numbers the pending pulse with label and returns its sample if locked.
func (l *Locker) emit(label time.Time) (Sample, bool) {
	s := l.number(label)
	return s, l.locked
}

// number makes the pending pulse the anchor with label and returns its
// sample, counting it when locked.
func (l *Locker) number(label time.Time) Sample {
	l.anchor = pulse{t: l.pending.t, seq: l.pending.seq, label: label}
	l.hasAnchor = true
	if l.locked {
		l.stats.PPSSamples++
	}
	return l.sample(l.anchor)
}

// sample is the pulse sample for a numbered pulse: reference - local.
func (l *Locker) sample(p pulse) Sample {
	ref := p.label.Add(l.cfg.EdgeDelay)
	return Sample{Local: p.t, Offset: ref.Sub(p.t), Err: l.cfg.PPSErr, RefID: RefIDPPS}
}

func (l *Locker) gpsSample(label, rx time.Time) Sample {
	l.stats.GPSSamples++
	d, _ := l.NMEADelay()
	return Sample{Local: rx, Offset: label.Add(d).Sub(rx), Err: l.cfg.NMEAErr, RefID: RefIDGPS}
}

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

// prediction is the number continuity gives a pulse: label when strong
// (sequence and elapsed time agree, or only one of them is available), or up
// to two weak candidates when they disagree.
type prediction struct {
	strong bool
	label  time.Time
	weak   [2]time.Time
	nweak  int
	// seqLabel is the number by sequence alone (or by time when the
	// source has no sequence numbers), for leap seconds: the kernel
	// repeats a second, so elapsed local time says 0 s across one.
	seqLabel time.Time
	bySeq    bool
}

func (p prediction) weakMatch(label time.Time) bool {
	for i := 0; i < p.nweak; i++ {
		if p.weak[i].Equal(label) {
			return true
		}
	}
	return false
}

func (l *Locker) predict(e pulse) prediction {
	if !l.hasAnchor {
		return prediction{}
	}
	a := l.anchor
	if e.t.Sub(l.confirmed) > l.cfg.MaxCoast {
		return prediction{}
	}
	maxN := int64(l.cfg.MaxCoast / time.Second)
	dt := e.t.Sub(a.t)
	nTime := int64(math.Round(dt.Seconds()))
	resid := dt - time.Duration(nTime)*time.Second
	timeOK := nTime >= 1 && nTime <= maxN && resid.Abs() <= l.cfg.GridTolerance
	var nSeq int64
	seqOK := false
	if e.seq > a.seq && e.seq-a.seq <= uint64(maxN) {
		nSeq, seqOK = int64(e.seq-a.seq), true
	}
	at := func(n int64) time.Time { return a.label.Add(time.Duration(n) * time.Second) }
	var p prediction
	if seqOK {
		p.seqLabel, p.bySeq = at(nSeq), true
	}
	switch {
	case timeOK && seqOK && nTime == nSeq, timeOK && !seqOK && e.seq == 0 && a.seq == 0:
		p.strong, p.label = true, at(nTime)
		p.seqLabel, p.bySeq = p.label, true
	case timeOK && seqOK:
		p.weak, p.nweak = [2]time.Time{at(nTime), at(nSeq)}, 2
	case timeOK:
		p.weak, p.nweak = [2]time.Time{at(nTime)}, 1
	case seqOK:
		p.weak, p.nweak = [2]time.Time{at(nSeq)}, 1
	}
	return p
}

// isLeap reports whether a sentence naming label against continuity pred is
// a leap second: the sentence said second 60 and names pred - 1 s (the
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
