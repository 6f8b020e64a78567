package views

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// WriteText writes r for a terminal: the sources as "ntpq -p" prints them
// (delay, offset and jitter in milliseconds), the tracking summary as
// "chronyc tracking" prints it, the receiver, the counters and any
// warnings.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	b.WriteString("     remote           refid      st t when poll reach   delay   offset   jitter\n")
	b.WriteString(strings.Repeat("=", 78) + "\n")
	for _, s := range r.Sources {
		refid := s.RefID
		if s.Stratum <= 1 && refid != "" {
			refid = "." + refid + "."
		}
		when := "-"
		if s.WhenS >= 0 {
			when = fmt.Sprintf("%d", int64(s.WhenS))
		}
		fmt.Fprintf(&b, "%s%-15.15s %-15.15s %2d %s %4s %4d %4o %8.3f %8.3f %8.3f\n",
			s.Tally, s.Remote, refid, s.Stratum, s.Type, when, 1<<max(s.PollLog2, 0), s.Reach,
			s.DelayS*1e3, s.OffsetS*1e3, s.JitterS*1e3)
	}
	t := r.Tracking
	b.WriteString("\n")
	peer := t.Peer
	if peer == "" {
		peer = "none"
	}
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-16s: "+format+"\n", append([]any{label}, args...)...)
	}
	line("Reference ID", "%s (%s)", t.Reference, peer)
	line("Stratum", "%d", t.Stratum)
	if t.LastUpdate.IsZero() {
		line("Ref time (UTC)", "never")
	} else {
		line("Ref time (UTC)", "%s", t.LastUpdate.UTC().Format("Mon Jan 02 15:04:05 2006"))
	}
	slowFast := func(v float64, pos, neg string) string {
		if v >= 0 {
			return pos
		}
		return neg
	}
	// offset = reference - local: positive, the local clock is behind.
	line("System time", "%.9f seconds %s of NTP time", math.Abs(t.OffsetS), slowFast(t.OffsetS, "slow", "fast"))
	// A positive correction speeds the clock up: left alone it is slow.
	line("Frequency", "%.3f ppm %s", math.Abs(t.FreqPPM), slowFast(t.FreqPPM, "slow", "fast"))
	line("Residual freq", "%+.3f ppm", t.ResidualFreqPPM)
	line("Skew", "%.3f ppm", t.SkewPPM)
	line("Root delay", "%.9f seconds", t.RootDelayS)
	line("Root dispersion", "%.9f seconds", t.RootDispersionS)
	if t.LastUpdate.IsZero() {
		line("Last update", "never")
	} else {
		line("Last update", "%.1f seconds ago", t.LastUpdateAgoS)
	}
	line("Leap status", "%s", strings.ToUpper(t.Leap[:1])+t.Leap[1:])
	if t.Synced && !t.SyncedSince.IsZero() {
		line("Synchronised", "yes, since %s (%.0f s)", t.SyncedSince.UTC().Format(time.RFC3339), r.Time.Sub(t.SyncedSince).Seconds())
	} else {
		line("Synchronised", "%s", yesNo(t.Synced))
	}
	if t.Alarm != "" {
		line("Alarm", "%s", t.Alarm)
	}
	if rv := r.Receiver; rv != nil {
		b.WriteString("\n")
		fix := "none"
		if rv.Fix >= 2 {
			fix = fmt.Sprintf("%dD", rv.Fix)
		}
		line("Receiver fix", "%s, %s", fix, map[bool]string{true: "valid", false: "not valid"}[rv.Valid])
		line("Satellites", "%d used, %d in view", rv.SatsUsed, rv.SatsInView)
		line("HDOP", "%.2f", rv.HDOP)
		line("PPS", "%s", map[bool]string{true: "locked to NMEA", false: "not locked"}[rv.Locked])
		how := "configured"
		if rv.NMEADelayLearned {
			how = "learned"
		}
		line("NMEA delay", "%s (%s)", time.Duration(rv.NMEADelayS*1e9).Round(time.Microsecond), how)
		if !rv.UTC.IsZero() {
			line("Receiver UTC", "%s", rv.UTC.UTC().Format(time.RFC3339))
		}
	}
	if tp := r.Temperature; tp != nil {
		b.WriteString("\n")
		if tp.Valid {
			line("Temperature", "%.3f °C (%d read errors)", tp.Celsius, tp.ReadErrors)
		} else {
			line("Temperature", "not read (%d read errors; %s)", tp.ReadErrors, tp.File)
		}
		state := "learning"
		if tp.Trusted {
			state = "trusted"
		}
		if tp.Samples == 0 {
			line("Temp model", "learning (no samples yet: they are taken while locked)")
		} else {
			line("Temp model", "%.3f ± %.3f ppb/°C (%s; %d samples over %.1f °C, lag %.0f s)",
				tp.CoefficientPPBPerC, tp.CoefficientSigmaPPBPerC, state, tp.Samples, tp.SpanC, tp.LagS)
		}
	}
	c := r.Counters
	b.WriteString("\n")
	line("Pulses", "%d (%d numbered, %d unnumbered, %d rejected)", c.Pulses, c.PulsesNumbered, c.PulsesUnnumbered, c.Rejected)
	line("NMEA lines", "%d (%d time messages, %d checksum errors, %d noise, %d malformed)", c.NMEALines, c.TimeMessages, c.ChecksumErrors, c.Noise, c.Malformed)
	line("Reconnects", "%d (%d open errors)", c.Reconnects, c.OpenErrors)
	line("Requests", "%d received, %d served, %d KoD, %d control", c.Received, c.Served, c.KoD, c.Control)
	var drops []string
	for _, k := range slices.Sorted(maps.Keys(c.Dropped)) {
		drops = append(drops, fmt.Sprintf("%s %d", k, c.Dropped[k]))
	}
	if len(drops) == 0 {
		drops = []string{"none"}
	}
	line("Dropped", "%s", strings.Join(drops, ", "))
	for _, wmsg := range r.Warnings {
		line("Warning", "%s", wmsg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
