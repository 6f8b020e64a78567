package refclock

import (
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// Pipeline is the refclock's pure core, shared by RefClock.Run and the
// simulator: the Locker numbers pulses with NMEA seconds, the outlier
// Filter vets pulse samples (reset when the receiver's numbering is adopted,
// since a new numbering steps the offsets). It is not safe for
// concurrent use.
type Pipeline struct {
	locker   *Locker
	filter   *Filter
	noFilter bool
}

// PipelineEvent says what one input did to the pulse numbering.
type PipelineEvent uint8

// Pipeline events.
const (
	// NumberingSame: the numbering did not change.
	NumberingSame PipelineEvent = iota
	// NumberingLocked: pulses became numbered.
	NumberingLocked
	// NumberingLost: pulses are no longer numbered.
	NumberingLost
	// NumberingAdopted: the receiver's new numbering was adopted.
	NumberingAdopted
)

// NewPipeline returns a pipeline over a Locker with lc and a Filter with
// fc; noFilter passes every pulse sample on, outliers included.
func NewPipeline(lc LockerConfig, fc FilterConfig, noFilter bool) *Pipeline {
	return &Pipeline{locker: NewLocker(lc), filter: NewFilter(fc), noFilter: noFilter}
}

// AddEdge feeds one PPS edge; it returns the sample to use, if any.
func (p *Pipeline) AddEdge(e pps.Edge) (source.Sample, bool, PipelineEvent) {
	return p.add(func() (source.Sample, bool) { return p.locker.AddEdge(e) })
}

// AddEdgeFromNTP feeds one PPS edge of a bare PPS wire, numbered from the
// NTP time t (Locker.AddEdgeFromNTP; have false: no NTP time); it returns
// the sample to use, if any, vetted by the outlier filter.
func (p *Pipeline) AddEdgeFromNTP(e pps.Edge, t NTPTime, have bool) (source.Sample, bool) {
	s, ok := p.locker.AddEdgeFromNTP(e, t, have)
	if ok && !p.noFilter && !p.filter.Add(s) {
		ok = false
	}
	return s, ok
}

// AddTime feeds one NMEA time message; it returns the sample to use, if any.
func (p *Pipeline) AddTime(m TimeMsg) (source.Sample, bool, PipelineEvent) {
	return p.add(func() (source.Sample, bool) { return p.locker.AddTime(m) })
}

func (p *Pipeline) add(f func() (source.Sample, bool)) (source.Sample, bool, PipelineEvent) {
	wasLocked, renumbered := p.locker.Locked(), p.locker.Stats().Renumbered
	s, ok := f()
	ev := NumberingSame
	switch locked := p.locker.Locked(); {
	case locked && !wasLocked:
		// No reset: a lock regained after a few lost pulses keeps its
		// numbering, and the filter restarts itself after a MaxGap gap.
		// Resetting here would open the filter (MinSamples accepted
		// unvetted) in the middle of an interrupt storm.
		ev = NumberingLocked
	case !locked && wasLocked:
		ev = NumberingLost
	case p.locker.Stats().Renumbered != renumbered:
		p.filter.Reset()
		ev = NumberingAdopted
	}
	// Steps are left to the filter (a run of agreeing rejections): a
	// user-space GPIO stamp's millisecond tail looks like a step to the
	// Locker, and resetting on it would let the outlier through.
	if ok && s.Kind == source.KindPPS && !p.noFilter && !p.filter.Add(s) {
		ok = false
	}
	return s, ok, ev
}

// Locker returns the pipeline's Locker, for its state and counters.
func (p *Pipeline) Locker() *Locker { return p.locker }

// Filter returns the pipeline's Filter, for its counters.
func (p *Pipeline) Filter() *Filter { return p.filter }
