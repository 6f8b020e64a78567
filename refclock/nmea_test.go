package refclock

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

// Sentences shaped like a u-blox M8 (GN talker, centisecond times, NMEA 4.1
// GSA system field) and a MediaTek MT3339 (GP talker, millisecond times,
// GGA before RMC), with dates moved to the test epoch and checksums fixed.
const (
	ubxRMC = "$GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,251126,,,A*42"
	ubxGGA = "$GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46"
	ubxGSA = "$GNGSA,A,3,23,29,07,08,09,18,26,,,,,,1.94,1.18,1.54,1*04"
	ubxZDA = "$GNZDA,083559.00,25,11,2026,00,00*7B"
	ubxGNS = "$GNGNS,083600.00,4717.11437,N,00833.91522,E,AAN,08,1.01,499.6,48.0,,,V*57"
	ubxTXT = "$GPTXT,01,01,02,ANTSTATUS=OK*3B"
	mtkGGA = "$GPGGA,194509.000,4042.6142,N,07400.4168,W,1,4,2.34,11.0,M,-34.4,M,,*5A"
	mtkRMC = "$GPRMC,194509.000,A,4042.6142,N,07400.4168,W,2.03,221.11,251126,,,A*74"
	mtkGSA = "$GPGSA,A,3,10,07,05,02,29,04,08,13,,,,,1.72,1.03,1.38*0A"
	mtkGSV = "$GPGSV,3,1,12,10,63,137,17,07,61,098,15,05,59,290,20,08,54,157,30*73"
	mtkVTG = "$GPVTG,221.11,T,,M,2.03,N,3.76,K,A*3F"
	// MediaTek before its first fix: RTC time, 1980 date, status V.
	mtkColdRMC = "$GPRMC,235316.000,V,,,,,0.00,0.00,060180,,,N*42"
	mtkColdGGA = "$GPGGA,235316.000,,,,,0,0,,,M,,M,,*48"
	noTimeRMC  = "$GNRMC,,V,,,,,,,,,,N*4D"
	// A receiver past its week-number epoch: 2007-03-11 for 2026-10-26.
	rolloverRMC = "$GPRMC,120000.00,A,4717.11437,N,00833.91522,E,0.004,77.52,110307,,,A*5A"
	leapRMC     = "$GNRMC,235960.00,A,4717.11437,N,00833.91522,E,0.004,77.52,311216,,,A*4E"
	fracRMC     = "$GNRMC,083559.20,A,4717.11437,N,00833.91522,E,0.004,77.52,251126,,,A*40"
)

// withSum appends the NMEA checksum to a sentence body (without '$').
func withSum(body string) string {
	var x byte
	for i := 0; i < len(body); i++ {
		x ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, x)
}

func TestParserLines(t *testing.T) {
	rx := time.Date(2026, 11, 25, 8, 35, 59, 300e6, time.UTC)
	type want struct {
		ok    bool
		utc   time.Time
		valid bool
		fix   int
		sats  int
		leap  bool
	}
	no := want{}
	d := func(y int, mo time.Month, dd, h, mi, s int) time.Time {
		return time.Date(y, mo, dd, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		name  string
		pivot time.Time
		lines []string
		want  []want
		stats NMEACounts // only non-zero fields are compared
	}{
		{
			name:  "u-blox second: RMC reports, the rest is the same second",
			lines: []string{ubxRMC, ubxGGA, ubxGSA, ubxZDA, ubxTXT, ubxGNS},
			want: []want{{ok: true, utc: d(2026, 11, 25, 8, 35, 59), valid: true}, no, no, no, no,
				{ok: true, utc: d(2026, 11, 25, 8, 36, 0), valid: true, fix: 3, sats: 8}},
			stats: NMEACounts{Lines: 6, TimeMsgs: 2, SameSecond: 2, Unsupported: 1},
		},
		{
			name:  "MediaTek: GGA before any date waits, RMC dates it, next GGA reports",
			lines: []string{mtkGGA, mtkGSA, mtkGSV, mtkRMC, mtkVTG, withSum("GPGGA,194510.000,4042.6142,N,07400.4168,W,1,4,2.34,11.0,M,-34.4,M,,")},
			want: []want{no, no, no, {ok: true, utc: d(2026, 11, 25, 19, 45, 9), valid: true, fix: 3, sats: 4}, no,
				{ok: true, utc: d(2026, 11, 25, 19, 45, 10), valid: true, fix: 3, sats: 4}},
			stats: NMEACounts{NoDate: 1, Unsupported: 1, TimeMsgs: 2},
		},
		{
			name:  "MediaTek cold start: status V and quality 0 are invalid",
			lines: []string{mtkColdRMC, withSum("GPGGA,235317.000,,,,,0,0,,,M,,M,,"), noTimeRMC},
			want:  []want{{ok: true, utc: d(2080, 1, 6, 23, 53, 16)}, {ok: true, utc: d(2080, 1, 6, 23, 53, 17)}, no},
			stats: NMEACounts{NoTime: 1, OutOfWindow: 1},
		},
		{
			name:  "GGA alone before any date",
			lines: []string{mtkColdGGA},
			want:  []want{no},
			stats: NMEACounts{NoDate: 1},
		},
		{
			name:  "week-number rollover: 1024 weeks added",
			lines: []string{rolloverRMC},
			want:  []want{{ok: true, utc: d(2007, 3, 11, 12, 0, 0).Add(gpsEra), valid: true}},
			stats: NMEACounts{Rollover: 1},
		},
		{
			name:  "pivot picks the century of a two-digit year",
			pivot: d(2090, 6, 1, 0, 0, 0),
			lines: []string{withSum("GPRMC,000000.00,A,,,,,,,010195,,,A")},
			want:  []want{{ok: true, utc: d(2095, 1, 1, 0, 0, 0), valid: true}},
		},
		{
			name:  "leap second 23:59:60 reads as a repeated 23:59:59",
			pivot: d(2015, 1, 1, 0, 0, 0),
			lines: []string{leapRMC, withSum("GNRMC,000000.00,A,,,,,,,010117,,,A")},
			want: []want{{ok: true, utc: d(2016, 12, 31, 23, 59, 59), valid: true, leap: true},
				{ok: true, utc: d(2017, 1, 1, 0, 0, 0), valid: true}},
		},
		{
			name:  "GGA after midnight takes the next day",
			lines: []string{withSum("GNRMC,235959.00,A,,,,,,,251126,,,A"), withSum("GNGGA,000000.00,,,,,1,05,,,,,,,")},
			want: []want{{ok: true, utc: d(2026, 11, 25, 23, 59, 59), valid: true},
				{ok: true, utc: d(2026, 11, 26, 0, 0, 0), valid: true, sats: 5}},
		},
		{
			name: "checksums: wrong, missing, lowercase",
			lines: []string{strings.Replace(ubxRMC, "083559", "083558", 1), strings.TrimSuffix(ubxRMC, "*42"),
				strings.Replace(mtkGSA, "*0A", "*0a", 1), mtkRMC},
			want:  []want{no, no, no, {ok: true, utc: d(2026, 11, 25, 19, 45, 9), valid: true, fix: 3}},
			stats: NMEACounts{Checksum: 2, TimeMsgs: 1},
		},
		{
			name:  "line noise: binary, junk prefix, no dollar, CR only",
			lines: []string{"\xb5b\x01\x07\x5c\x00" + ubxRMC, "garbage" + ubxRMC, "hello world", "$GNRMC,0835\x0059.00*00", "\r"},
			want:  []want{{ok: true, utc: d(2026, 11, 25, 8, 35, 59), valid: true}, no, no, no, no},
			stats: NMEACounts{Lines: 4, Noise: 2, SameSecond: 1},
		},
		{
			name:  "other talkers and proprietary sentences are ignored",
			lines: []string{withSum("IIRMC,083559.00,A,,,,,,,251126,,,A"), withSum("PUBX,04,083559.00,251126,30959.00,2338,18,-1234,56.123,21"), ubxRMC},
			want:  []want{no, no, {ok: true, utc: d(2026, 11, 25, 8, 35, 59), valid: true}},
			stats: NMEACounts{OtherTalker: 1, Unsupported: 1},
		},
		{
			name:  "impossible dates and malformed fields",
			lines: []string{withSum("GNRMC,083559.00,A,,,,,,,310426,,,A"), withSum("GNZDA,083559.00,25,13,2026,00,00"), withSum("GNRMC,08x559.00,A,,,,,,,251126,,,A"), withSum("GNRMC,253559.00,A,,,,,,,251126,,,A")},
			want:  []want{no, no, no, no},
			stats: NMEACounts{BadDate: 2, Malformed: 2},
		},
		{
			name:  "dead reckoning is not valid",
			lines: []string{withSum("GNRMC,083559.00,A,,,,,,,251126,,,E"), withSum("GNGGA,083600.00,,,,,6,05,,,,,,,")},
			want:  []want{{ok: true, utc: d(2026, 11, 25, 8, 35, 59)}, {ok: true, utc: d(2026, 11, 25, 8, 36, 0), sats: 5}},
		},
		{
			name:  "overlong line",
			lines: []string{"$" + strings.Repeat("A", 300)},
			want:  []want{no},
			stats: NMEACounts{Overlong: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(NMEAConfig{Pivot: tc.pivot})
			for i, line := range tc.lines {
				m, ok := p.Line(line, rx.Add(time.Duration(i)*time.Second))
				w := tc.want[i]
				if ok != w.ok {
					t.Fatalf("line %d %q: ok %v, want %v (%+v)", i, line, ok, w.ok, p.Stats().Snapshot())
				}
				if !ok {
					continue
				}
				g := want{true, m.UTC, m.Valid, m.Fix, m.Sats, m.LeapSecond}
				if !g.utc.Equal(w.utc) || g != (want{true, g.utc, w.valid, w.fix, w.sats, w.leap}) {
					t.Errorf("line %d: got %+v, want %+v", i, g, w)
				}
				if !m.Received.Equal(rx.Add(time.Duration(i) * time.Second)) {
					t.Errorf("line %d: Received %v", i, m.Received)
				}
			}
			compareCounts(t, p.Stats().Snapshot(), tc.stats)
		})
	}
}

// compareCounts checks the non-zero fields of want.
func compareCounts(t *testing.T, got, want NMEACounts) {
	t.Helper()
	g := []uint64{got.Lines, got.TimeMsgs, got.Noise, got.Overlong, got.Checksum, got.Malformed, got.Unsupported, got.OtherTalker, got.NoTime, got.NoDate, got.BadDate, got.Fractional, got.SameSecond, got.Rollover}
	w := []uint64{want.Lines, want.TimeMsgs, want.Noise, want.Overlong, want.Checksum, want.Malformed, want.Unsupported, want.OtherTalker, want.NoTime, want.NoDate, want.BadDate, want.Fractional, want.SameSecond, want.Rollover}
	for i := range w {
		if w[i] != 0 && g[i] != w[i] {
			t.Errorf("counts %+v, want (non-zero fields) %+v", got, want)
			return
		}
	}
}

// TestParserSky: GGA's HDOP and the satellites of complete GSV cycles
// (one per talker, summed) ride on the next time message; an incomplete
// cycle leaves the last complete sky in place.
func TestParserSky(t *testing.T) {
	p := NewParser(NMEAConfig{})
	rx := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	lines := []string{
		withSum("GPGSV,2,1,05,10,63,137,17,07,61,098,15,05,59,290,20,08,54,157,30"),
		withSum("GPGSV,2,2,05,13,05,010,"),
		withSum("GLGSV,1,1,02,65,40,200,33,66,10,300,"),
		withSum("GPGSV,2,1,05,99,10,010,10"), // a new cycle, not complete
		withSum("GNRMC,080000.00,A,5128.61200,N,00000.46000,W,0.011,,251126,,,A"),
		withSum("GNGGA,080001.00,5128.61200,N,00000.46000,W,1,07,0.94,45.3,M,47.0,M,,"),
		withSum("GNRMC,080002.00,A,5128.61200,N,00000.46000,W,0.011,,251126,,,A"),
	}
	var msgs []TimeMsg
	for _, l := range lines {
		if m, ok := p.Line(l, rx); ok {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 3 {
		t.Fatalf("%d time messages, want 3", len(msgs))
	}
	m := msgs[0]
	if m.InView != 7 || len(m.Sky) != 7 {
		t.Fatalf("in view %d, sky %v, want 7", m.InView, m.Sky)
	}
	if s := m.Sky[0]; s != (Satellite{Talker: "GL", PRN: 65, ElevationDeg: 40, AzimuthDeg: 200, SNRdB: 33}) {
		t.Errorf("first satellite %+v", s)
	}
	if s := m.Sky[6]; s != (Satellite{Talker: "GP", PRN: 13, ElevationDeg: 5, AzimuthDeg: 10}) {
		t.Errorf("last satellite %+v (untracked: SNR 0)", s)
	}
	if m.HDOP != 0 || msgs[1].HDOP != 0.94 || msgs[2].HDOP != 0.94 || msgs[1].Sats != 7 {
		t.Errorf("HDOP %v, %v, %v, sats %d; want 0, 0.94, 0.94, 7", m.HDOP, msgs[1].HDOP, msgs[2].HDOP, msgs[1].Sats)
	}
	if p.Stats().Snapshot().Unsupported != 0 {
		t.Errorf("GSV counted unsupported")
	}
}

func TestNMEAConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  NMEAConfig
		ok   bool
	}{
		{"zero is defaults", NMEAConfig{}, true},
		{"defaults", DefaultNMEAConfig(), true},
		{"pivot in 1970", NMEAConfig{Pivot: time.Unix(0, 0)}, false},
		{"short lines", NMEAConfig{MaxLineLen: 40}, false},
		{"bad talker", NMEAConfig{Talkers: []string{"GPS"}}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{ubxRMC, ubxGGA, ubxGSA, ubxZDA, ubxGNS, ubxTXT, mtkGGA, mtkRMC, mtkGSA, mtkGSV,
		mtkVTG, mtkColdRMC, mtkColdGGA, noTimeRMC, rolloverRMC, leapRMC, fracRMC, "\xb5b\x01" + ubxRMC,
		faaInDirRMC, shortGGA, frac40RMC, frac40RMC2, frac972GGA, inRMC} {
		f.Add(s, ubxGGA)
	}
	f.Add(withSum("GPGSV,1,1,02,05,95,400,12,07,-3,-1,999"), ubxRMC)
	f.Add(withSum("GPZDA,120001.00,25,11,2026,00,00"), withSum("GPGGA,120000.00,,,,,1,07,1.2,,,,,,"))
	f.Add(withSum("GPRMC,120000.00,A,,,,,,,010104,,,A"), withSum("GPZDA,000000.00,06,01,1980,00,00"))
	f.Add(withSum("GPRMC,1200.00,A"), withSum("GPGGA,120000.,,,,,1"))
	f.Add(withSum("GPRMC,120000.123456789,A,,,,,,,251126,,"), withSum("GNGNS,120001.00,,,,,AN,07"))
	rx := time.Date(2026, 11, 25, 8, 35, 59, 300e6, time.UTC)
	f.Fuzz(func(t *testing.T, a, b string) {
		p := NewParser(NMEAConfig{})
		var last TimeMsg
		for i, line := range []string{a, b, a, b} {
			before := p.Stats().Snapshot()
			m, ok := p.Line(line, rx.Add(time.Duration(i)*time.Second))
			if !ok {
				continue
			}
			if m.UTC.Nanosecond() != 0 || m.UTC.Location() != time.UTC || m.Fraction < 0 || m.Fraction >= time.Second {
				t.Errorf("line %q: UTC %v fraction %v: not a whole UTC second and a fraction", line, m.UTC, m.Fraction)
			}
			if !m.Received.Add(m.Fraction).Equal(rx.Add(time.Duration(i) * time.Second)) {
				t.Errorf("line %q: Received %v + %v is not the read time", line, m.Received, m.Fraction)
			}
			if p.Stats().Snapshot().Rollover > before.Rollover && (m.UTC.Before(DefaultPivot) || !m.UTC.Before(DefaultPivot.Add(source.DefaultPlausibleSpan))) {
				t.Errorf("line %q: rolled over to %v, outside the plausible window", line, m.UTC)
			}
			// Four lines cannot make three seconds behind: strictly
			// increasing seconds (a leap second after its 23:59:59).
			if !last.UTC.IsZero() && !(m.UTC.After(last.UTC) || (m.UTC.Equal(last.UTC) && m.LeapSecond && !last.LeapSecond)) {
				t.Errorf("line %q: second %v reported after %v", line, m.UTC, last.UTC)
			}
			last = m
			if m.Fix != 0 && m.Fix != 2 && m.Fix != 3 {
				t.Errorf("Fix %d", m.Fix)
			}
			if m.InView != len(m.Sky) || m.InView > 8*maxSatsPerTalker {
				t.Errorf("InView %d, sky of %d", m.InView, len(m.Sky))
			}
			for _, s := range m.Sky {
				if s.ElevationDeg < 0 || s.ElevationDeg > 90 || s.AzimuthDeg < 0 || s.AzimuthDeg > 359 || s.SNRdB < 0 || s.PRN <= 0 {
					t.Errorf("satellite %+v out of range", s)
				}
			}
		}
	})
}
