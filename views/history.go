package views

import (
	"math"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

// Point is one plotted moment: the estimated offset (reference - local),
// the frequency correction and the system peer's jitter.
type Point struct {
	// Unix is the served clock's time, Unix seconds.
	Unix float64 `json:"t"`
	// OffsetS is the estimated offset, FreqPPM the frequency correction,
	// JitterS the system peer's jitter (0 without one).
	OffsetS float64 `json:"offset_s"`
	FreqPPM float64 `json:"freq_ppm"`
	JitterS float64 `json:"jitter_s"`
}

// The history's bounds: the last hour at one point per HourStep, the last
// day at one point (the mean) per DayStep, and the samples per source the
// jitter is taken over.
const (
	HourStep     = 10 * time.Second
	DayStep      = 5 * time.Minute
	hourPoints   = int(time.Hour / HourStep)
	dayPoints    = int(24 * time.Hour / DayStep)
	jitterWindow = 16
	// residualPoints are the hour points the residual frequency is fitted
	// over (the last 10 min), residualMin the fewest it needs.
	residualPoints = 60
	residualMin    = 6
	// stepJump is the offset change taken for a clock step (the
	// discipline's step threshold is 128 ms).
	stepJump = 100 * time.Millisecond
)

// ring is a fixed-capacity ring of Points, oldest first.
type ring struct {
	buf  []Point
	next int
	full bool
}

func newRing(n int) ring { return ring{buf: make([]Point, n)} }

func (r *ring) add(p Point) {
	r.buf[r.next] = p
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// points returns the contents, oldest first, in a new slice.
func (r *ring) points() []Point {
	if !r.full {
		return append([]Point(nil), r.buf[:r.next]...)
	}
	return append(append([]Point(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// srcHist holds a source's recent sample offsets.
type srcHist struct {
	last time.Time
	offs []float64
}

// History keeps what the web page plots and the jitter and residual
// frequency the Report shows, in bounded memory (about 50 KB). It is not
// safe for concurrent use.
type History struct {
	hour, day ring
	// acc accumulates the current day step's points.
	acc      Point
	accN     int
	accStart time.Time
	lastHour time.Time
	src      map[source.ID]*srcHist
}

// NewHistory returns an empty History.
func NewHistory() *History {
	return &History{hour: newRing(hourPoints), day: newRing(dayPoints), src: map[source.ID]*srcHist{}}
}

// Observe records snap: each source's new sample, and a point when
// HourStep has passed since the last.
func (h *History) Observe(snap *status.Snapshot) {
	for _, s := range snap.Sources {
		if s.Last.Local.IsZero() {
			continue
		}
		sh := h.src[s.ID]
		if sh == nil {
			sh = &srcHist{}
			h.src[s.ID] = sh
		}
		if s.Last.Local.Equal(sh.last) {
			continue
		}
		sh.last = s.Last.Local
		// A jump beyond stepJump is the clock being stepped, not jitter:
		// the history starts again after it.
		if n := len(sh.offs); n > 0 && math.Abs(s.Last.Offset.Seconds()-sh.offs[n-1]) > stepJump.Seconds() {
			sh.offs = sh.offs[:0]
		}
		if len(sh.offs) == jitterWindow {
			copy(sh.offs, sh.offs[1:])
			sh.offs = sh.offs[:jitterWindow-1]
		}
		sh.offs = append(sh.offs, s.Last.Offset.Seconds())
	}
	if !h.lastHour.IsZero() && snap.Time.Sub(h.lastHour) < HourStep {
		return
	}
	h.lastHour = snap.Time
	p := Point{Unix: float64(snap.Time.UnixNano()) / 1e9, OffsetS: snap.Sync.OffsetEst.Seconds(), FreqPPM: snap.Sync.FreqPPB / 1000}
	if peer := snap.SystemPeer(); peer != nil {
		if j, ok := h.Jitter(peer.ID); ok {
			p.JitterS = j.Seconds()
		}
	}
	h.hour.add(p)
	if h.accN == 0 {
		h.accStart = snap.Time
	}
	h.acc.Unix += p.Unix
	h.acc.OffsetS += p.OffsetS
	h.acc.FreqPPM += p.FreqPPM
	h.acc.JitterS += p.JitterS
	h.accN++
	if snap.Time.Sub(h.accStart) >= DayStep-HourStep {
		n := float64(h.accN)
		h.day.add(Point{h.acc.Unix / n, h.acc.OffsetS / n, h.acc.FreqPPM / n, h.acc.JitterS / n})
		h.acc, h.accN = Point{}, 0
	}
}

// Hour returns the last hour's points, oldest first.
func (h *History) Hour() []Point { return h.hour.points() }

// Day returns the last day's points (means over DayStep), oldest first.
func (h *History) Day() []Point { return h.day.points() }

// Jitter returns the RMS of the successive differences of id's last
// samples' offsets; false with fewer than two samples.
func (h *History) Jitter(id source.ID) (time.Duration, bool) {
	sh := h.src[id]
	if sh == nil || len(sh.offs) < 2 {
		return 0, false
	}
	var sum float64
	for i := 1; i < len(sh.offs); i++ {
		d := sh.offs[i] - sh.offs[i-1]
		sum += d * d
	}
	return time.Duration(math.Sqrt(sum/float64(len(sh.offs)-1)) * 1e9), true
}

// ResidualFreq fits a line through the estimated offsets of the last
// residualPoints hour points and returns its slope (the frequency error
// the correction leaves, ppm; positive: the offset grows, the clock falls
// behind) and the slope's standard error (ppm); 0, 0 with too few points.
func (h *History) ResidualFreq() (freqPPM, skewPPM float64) {
	pts := h.hour.points()
	if len(pts) > residualPoints {
		pts = pts[len(pts)-residualPoints:]
	}
	return fitSlope(pts)
}

// fitSlope is the least-squares slope of offset over time and its standard
// error, both in ppm.
func fitSlope(pts []Point) (slopePPM, sePPM float64) {
	n := float64(len(pts))
	if len(pts) < residualMin {
		return 0, 0
	}
	t0 := pts[0].Unix
	var mt, my float64
	for _, p := range pts {
		mt += p.Unix - t0
		my += p.OffsetS
	}
	mt, my = mt/n, my/n
	var stt, sty float64
	for _, p := range pts {
		dt := p.Unix - t0 - mt
		stt += dt * dt
		sty += dt * (p.OffsetS - my)
	}
	if stt == 0 {
		return 0, 0
	}
	b := sty / stt
	var ss float64
	for _, p := range pts {
		e := p.OffsetS - my - b*(p.Unix-t0-mt)
		ss += e * e
	}
	se := math.Sqrt(ss / (n - 2) / stt)
	return b * 1e6, se * 1e6
}
