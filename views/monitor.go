package views

import (
	"math"
	"time"

	"github.com/gnomon-ntp/gnomon/refclock"
)

// GPSLine is one decoded time message as gnomon gpsmon --json prints it.
type GPSLine struct {
	// UTC is the second the receiver named, RFC 3339 with nanoseconds.
	UTC string `json:"utc"`
	// Received is the local clock's reading when the sentence ended.
	Received string `json:"received"`
	// Valid is the receiver's verdict; Fix 0, 2 or 3; Sats used, InView
	// in view (GSV), HDOP (0 unknown).
	Valid  bool    `json:"valid"`
	Fix    int     `json:"fix"`
	Sats   int     `json:"sats"`
	InView int     `json:"in_view"`
	HDOP   float64 `json:"hdop"`
	// Sentence is the sentence type that carried the time.
	Sentence string `json:"sentence"`
	// SinceSecondS is how far after the local clock's whole second the
	// sentence ended: with a disciplined clock, the PPS-to-NMEA delay.
	SinceSecondS float64 `json:"since_second_s"`
	// PPSDelayS is the measured delay from the last PPS edge to the
	// sentence's end (gpsmon --pps; omitted without pulses).
	PPSDelayS *float64 `json:"pps_delay_s,omitempty"`
}

// NewGPSLine describes m; lastEdge is the last PPS edge before it (zero:
// none, or one more than 1.5 s old, which names no second of m).
func NewGPSLine(m refclock.TimeMsg, lastEdge time.Time) GPSLine {
	frac := m.Received.Sub(m.Received.Truncate(time.Second))
	var delay *float64
	if d := m.Received.Sub(lastEdge); !lastEdge.IsZero() && d >= 0 && d < 1500*time.Millisecond {
		s := d.Seconds()
		delay = &s
	}
	return GPSLine{PPSDelayS: delay, UTC: m.UTC.UTC().Format(time.RFC3339Nano), Received: m.Received.UTC().Format(time.RFC3339Nano),
		Valid: m.Valid, Fix: m.Fix, Sats: m.Sats, InView: m.InView, HDOP: m.HDOP, Sentence: m.Sentence,
		SinceSecondS: frac.Seconds()}
}

// PulseMonitor follows PPS edges: the interval between them and the
// jitter, the RMS of the intervals' departure from a whole number of
// seconds. The zero value is ready.
type PulseMonitor struct {
	last  time.Time
	n     int
	sumSq float64
}

// PulseReport is one edge as gnomon ppsmon prints it.
type PulseReport struct {
	// Time is the edge's timestamp; Interval since the previous edge (0
	// for the first); Missed the whole seconds skipped between them.
	Time     time.Time
	Interval time.Duration
	Missed   int
	// Error is the interval's departure from its whole seconds; Jitter
	// the RMS of Error so far.
	Error, Jitter time.Duration
}

// Add takes the edge at t.
func (p *PulseMonitor) Add(t time.Time) PulseReport {
	r := PulseReport{Time: t}
	if !p.last.IsZero() {
		r.Interval = t.Sub(p.last)
		whole := max(r.Interval.Round(time.Second), time.Second)
		r.Missed = int(whole/time.Second) - 1
		r.Error = r.Interval - whole
		p.n++
		p.sumSq += r.Error.Seconds() * r.Error.Seconds()
		r.Jitter = time.Duration(math.Sqrt(p.sumSq/float64(p.n)) * 1e9)
	}
	p.last = t
	return r
}
