package views

import (
	"math"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

// Report is the operator's view of one snapshot, with JSON names. Times
// are RFC 3339 with nanoseconds; durations are seconds as floats, named
// with an _s suffix; frequencies ppm.
type Report struct {
	// Time is the served clock's reading; UptimeS how long gnomon has run.
	Time    time.Time `json:"time"`
	UptimeS float64   `json:"uptime_s"`
	// Tracking is the system clock's state ("chronyc tracking").
	Tracking Tracking `json:"tracking"`
	// Sources are the sources ("ntpq -p"), in configuration order.
	Sources []SourceRow `json:"sources"`
	// Receiver is the GPS receiver (nil without a refclock).
	Receiver *Receiver `json:"receiver,omitempty"`
	// Temperature is the oscillator temperature sensor and the learned
	// temperature model (nil without a sensor).
	Temperature *Temperature `json:"temperature,omitempty"`
	// Counters are the refclock's and the server's counters.
	Counters Counters `json:"counters"`
	// Warnings are the health conditions in force (see Health).
	Warnings []string `json:"warnings,omitempty"`
}

// Tracking is the served clock's state in the shape of "chronyc tracking".
type Tracking struct {
	// Reference is the refid; Peer the system peer ("" with none).
	Reference string `json:"reference"`
	Peer      string `json:"peer"`
	Stratum   int    `json:"stratum"`
	Synced    bool   `json:"synced"`
	// SyncedSince is when the clock last became synchronised (zero while
	// it is not, or before the views saw it happen).
	SyncedSince time.Time `json:"synced_since"`
	// OffsetS is the estimated offset, reference - local.
	OffsetS float64 `json:"offset_s"`
	// FreqPPM is the frequency correction in force (positive: the clock
	// is sped up).
	FreqPPM float64 `json:"freq_ppm"`
	// ResidualFreqPPM is the slope of the estimated offset over the recent
	// history (the frequency error left after the correction) and SkewPPM
	// its standard error; both 0 until the history has enough points.
	ResidualFreqPPM float64 `json:"residual_freq_ppm"`
	SkewPPM         float64 `json:"skew_ppm"`
	// RootDelayS and RootDispersionS are served in the header (dispersion
	// grown to Time).
	RootDelayS      float64 `json:"root_delay_s"`
	RootDispersionS float64 `json:"root_dispersion_s"`
	// Leap is "normal", "insert second", "delete second" or "not
	// synchronised".
	Leap string `json:"leap"`
	// LeapIndicator is the leap indicator's value (0-3).
	LeapIndicator int `json:"leap_indicator"`
	// LastUpdate is the last clock update (zero before any); LastUpdateAgoS
	// how long before Time.
	LastUpdate     time.Time `json:"last_update"`
	LastUpdateAgoS float64   `json:"last_update_ago_s"`
	// PrecisionLog2 is the clock's precision, log2 s.
	PrecisionLog2 int `json:"precision_log2"`
	// Alarm is why samples were last refused ("" when none); Refused
	// counts them.
	Alarm   string `json:"alarm,omitempty"`
	Refused uint64 `json:"refused"`
}

// SourceRow is one source in the shape of an "ntpq -p" line.
type SourceRow struct {
	// Tally is ntpq's tally character: '*' system peer, '+' candidate,
	// '-' outlier, 'x' falseticker, ' ' unusable.
	Tally  string `json:"tally"`
	Remote string `json:"remote"`
	RefID  string `json:"refid"`
	// Stratum is the source's own stratum (0 for the refclock).
	Stratum int `json:"stratum"`
	// Type is ntpq's t column: "l" local (refclock), "u" unicast.
	Type string `json:"type"`
	// State names the selection state.
	State string `json:"state"`
	// WhenS is the age of the last sample (-1 before any).
	WhenS    float64 `json:"when_s"`
	PollLog2 int     `json:"poll_log2"`
	// Reach is the reachability register.
	Reach uint8 `json:"reach"`
	// DelayS, OffsetS, JitterS: round trip, offset (reference - local) and
	// jitter (RMS of successive offset differences over the recent history;
	// the sample's own sigma until there are two).
	DelayS  float64 `json:"delay_s"`
	OffsetS float64 `json:"offset_s"`
	JitterS float64 `json:"jitter_s"`
	// Samples counts its samples; Used those that steered the clock.
	Samples uint64 `json:"samples"`
	Used    uint64 `json:"used"`
}

// Receiver is the GPS receiver's last report.
type Receiver struct {
	// Locked: pulses numbered by NMEA seconds.
	Locked bool `json:"locked"`
	// UTC is the time the last time message named; Valid the receiver's
	// verdict; Fix 0 (none), 2 (2D), 3 (3D).
	UTC   time.Time `json:"utc"`
	Valid bool      `json:"valid"`
	Fix   int       `json:"fix"`
	// SatsUsed and SatsInView count satellites; HDOP the horizontal
	// dilution of precision (0 unknown).
	SatsUsed   int     `json:"sats_used"`
	SatsInView int     `json:"sats_in_view"`
	HDOP       float64 `json:"hdop"`
	// Sky is the satellites in view.
	Sky []Satellite `json:"sky,omitempty"`
	// NMEADelayS is the pulse-to-sentence delay, learned or configured.
	NMEADelayS       float64 `json:"nmea_delay_s"`
	NMEADelayLearned bool    `json:"nmea_delay_learned"`
	// LastEdgeAgoS is how long ago the last PPS edge was read (-1 before
	// any).
	LastEdgeAgoS float64 `json:"last_edge_ago_s"`
}

// Temperature is the temperature sensor's last reading and the model of
// the oscillator's frequency error against it that the discipline learns
// while locked and follows in holdover.
type Temperature struct {
	// File is the sensor's sysfs file.
	File string `json:"file"`
	// Celsius is the last valid reading, °C; Valid says the most recent
	// read gave it; ReadErrors counts failed reads.
	Celsius    float64 `json:"celsius"`
	Valid      bool    `json:"valid"`
	ReadErrors uint64  `json:"read_errors"`
	// CoefficientPPBPerC is the model's linear coefficient: how much the
	// oscillator's frequency error (positive: the clock gains) grows per
	// °C at ReferenceC; CoefficientSigmaPPBPerC its 1-sigma uncertainty;
	// CurvePPBPerC2 the quadratic term.
	CoefficientPPBPerC      float64 `json:"coefficient_ppb_per_c"`
	CoefficientSigmaPPBPerC float64 `json:"coefficient_sigma_ppb_per_c"`
	CurvePPBPerC2           float64 `json:"curve_ppb_per_c2"`
	ReferenceC              float64 `json:"reference_c"`
	// ResidualPPB is the fit's RMS residual.
	ResidualPPB float64 `json:"residual_ppb"`
	// Trusted says the model has the samples, temperature span and
	// precision to be used in holdover; Samples and SpanC are those it
	// has.
	Trusted bool    `json:"trusted"`
	Samples int     `json:"samples"`
	SpanC   float64 `json:"span_c"`
	// LagS is the time constant of the smoothing of the readings the
	// model was fitted against, seconds.
	LagS float64 `json:"lag_s"`
}

// Satellite is one satellite in view.
type Satellite struct {
	Talker       string `json:"talker"`
	PRN          int    `json:"prn"`
	ElevationDeg int    `json:"elevation_deg"`
	AzimuthDeg   int    `json:"azimuth_deg"`
	SNRdB        int    `json:"snr_db"`
}

// Counters are the counters an operator checks.
type Counters struct {
	// Pulses are PPS edges taken; PulsesNumbered numbered from a sentence
	// or coasted; PulsesUnnumbered gave no sample; Rejected the filter's
	// outliers.
	Pulses           uint64 `json:"pulses"`
	PulsesNumbered   uint64 `json:"pulses_numbered"`
	PulsesUnnumbered uint64 `json:"pulses_unnumbered"`
	Rejected         uint64 `json:"rejected"`
	// NMEALines are lines read; TimeMessages the dated seconds decoded;
	// ChecksumErrors, Noise, Malformed lines refused.
	NMEALines      uint64 `json:"nmea_lines"`
	TimeMessages   uint64 `json:"time_messages"`
	ChecksumErrors uint64 `json:"checksum_errors"`
	Noise          uint64 `json:"noise"`
	Malformed      uint64 `json:"malformed"`
	// Reconnects are the serial port's reopens after the first open;
	// OpenErrors failed opens.
	Reconnects uint64 `json:"reconnects"`
	OpenErrors uint64 `json:"open_errors"`
	// Received are datagrams read; Served mode 4 replies; KoD kiss-o'-death
	// replies; Control mode 6 answers; Dropped by reason.
	Received uint64            `json:"received"`
	Served   uint64            `json:"served"`
	KoD      uint64            `json:"kod"`
	Control  uint64            `json:"control"`
	Dropped  map[string]uint64 `json:"dropped"`
}

// SelectionStates names every selection state, as SourceRow.State does.
var SelectionStates = func() []string {
	var out []string
	for s := selection.StateUnusable; s <= selection.StateSystemPeer; s++ {
		out = append(out, s.String())
	}
	return out
}()

// LeapString names a leap indicator as chronyc does.
func LeapString(l ntp.Leap) string {
	switch l {
	case ntp.LeapNone:
		return "normal"
	case ntp.LeapInsert:
		return "insert second"
	case ntp.LeapDelete:
		return "delete second"
	}
	return "not synchronised"
}

// Build makes the Report of snap; h (nil: none) gives the jitter, residual
// frequency and skew.
func Build(snap *status.Snapshot, h *History) Report {
	st := snap.Sync
	r := Report{Time: snap.Time, UptimeS: snap.Uptime.Seconds()}
	disp := st.RootDispersion
	if !st.RefTime.IsZero() && snap.Time.After(st.RefTime) {
		disp += time.Duration(st.DispersionRate * float64(snap.Time.Sub(st.RefTime)))
	}
	r.Tracking = Tracking{
		Reference: st.RefID.String(), Peer: string(st.Peer), Stratum: int(st.Stratum), Synced: st.Synced,
		OffsetS: st.OffsetEst.Seconds(), FreqPPM: st.FreqPPB / 1000,
		RootDelayS: st.RootDelay.Seconds(), RootDispersionS: disp.Seconds(),
		Leap: LeapString(st.Leap), LeapIndicator: int(st.Leap), LastUpdate: st.RefTime, PrecisionLog2: int(st.PrecisionLog2),
		Alarm: st.Alarm, Refused: st.Refused,
	}
	if !st.RefTime.IsZero() {
		r.Tracking.LastUpdateAgoS = snap.Time.Sub(st.RefTime).Seconds()
	}
	if h != nil {
		r.Tracking.ResidualFreqPPM, r.Tracking.SkewPPM = h.ResidualFreq()
	}
	for _, s := range snap.Sources {
		row := SourceRow{
			Tally: string(s.State.Tally()), Remote: string(s.ID), RefID: s.PeerRefID().String(),
			Stratum: int(s.Last.Stratum), Type: "u", State: s.State.String(), WhenS: -1,
			PollLog2: int(s.PollLog2), Reach: s.Reach, DelayS: s.Last.Delay.Seconds(),
			OffsetS: s.Last.Offset.Seconds(), JitterS: s.Last.Sigma.Seconds(),
			Samples: s.Samples, Used: s.Used,
		}
		if s.Last.Kind != source.KindNTP {
			row.Type = "l"
		}
		if !s.Last.Local.IsZero() {
			row.WhenS = s.Age.Seconds()
		}
		if h != nil {
			if j, ok := h.Jitter(s.ID); ok {
				row.JitterS = j.Seconds()
			}
		}
		r.Sources = append(r.Sources, row)
	}
	if rc := snap.Refclock; rc != nil {
		rv := &Receiver{
			Locked: rc.Locked, UTC: rc.Receiver.Time, Valid: rc.Receiver.Valid, Fix: rc.Receiver.Fix,
			SatsUsed: rc.Receiver.Sats, SatsInView: rc.Receiver.InView, HDOP: rc.Receiver.HDOP,
			NMEADelayS: rc.NMEADelay.Seconds(), NMEADelayLearned: rc.NMEADelayLearned, LastEdgeAgoS: -1,
		}
		for _, s := range rc.Receiver.Sky {
			rv.Sky = append(rv.Sky, Satellite{s.Talker, s.PRN, s.ElevationDeg, s.AzimuthDeg, s.SNRdB})
		}
		if !rc.LastEdge.IsZero() {
			rv.LastEdgeAgoS = math.Max(snap.Time.Sub(rc.LastEdge).Seconds(), 0)
		}
		r.Receiver = rv
		c := &r.Counters
		c.Pulses, c.PulsesNumbered, c.PulsesUnnumbered = rc.Locker.Edges, rc.Locker.Numbered+rc.Locker.Coasted, rc.Locker.Unnumbered
		c.Rejected = rc.Filter.Rejected
		c.NMEALines, c.TimeMessages, c.ChecksumErrors = rc.NMEA.Lines, rc.NMEA.TimeMsgs, rc.NMEA.Checksum
		c.Noise, c.Malformed = rc.NMEA.Noise+rc.NMEA.Overlong, rc.NMEA.Malformed
		c.Reconnects, c.OpenErrors = max(rc.Reopen.Opens, 1)-1, rc.Reopen.OpenErrors
	}
	if tp := snap.Temperature; tp != nil {
		f := tp.Fit
		r.Temperature = &Temperature{
			File: tp.File, Celsius: tp.Celsius, Valid: tp.Valid, ReadErrors: tp.ReadErrors,
			CoefficientPPBPerC: f.SlopePPBPerC, CoefficientSigmaPPBPerC: f.SlopeSigmaPPBPerC, CurvePPBPerC2: f.CurvePPBPerC2,
			ReferenceC: f.RefC, ResidualPPB: f.ResidualPPB, Trusted: f.Trusted, Samples: f.Samples, SpanC: f.SpanC, LagS: f.LagS,
		}
	}
	c := &r.Counters
	c.Received, c.Served, c.KoD, c.Control = snap.Server.Received, snap.Server.Answered, snap.Server.KoD, snap.Server.Control
	c.Dropped = map[string]uint64{}
	for _, d := range snap.Server.Drops {
		c.Dropped[d.Reason] = d.Count
	}
	return r
}
