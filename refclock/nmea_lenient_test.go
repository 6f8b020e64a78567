package refclock

import (
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

// Real receivers' sentences that go-nmea refuses or that a strict reader
// gets wrong (shapes from gpsd's regression captures; positions, dates
// and checksums ours).
var (
	// An FAA mode letter in the variation direction field (NMEA 2.3 mode,
	// 2.2 field count): go-nmea says "invalid direction: A".
	faaInDirRMC = withSum("GPRMC,181207.00,A,4807.0380,N,01131.0000,E,0.02,0.0,251126,0,A")
	// A 13-field GGA (no DGPS station field).
	shortGGA = withSum("GPGGA,181208.00,4807.0380,N,01131.0000,E,1,07,1.2,545.4,M,46.9,M,")
	// Fixes not on the whole second: a receiver with a 0.4 s measurement
	// offset, and one stamping each fix when it is computed.
	frac40RMC  = withSum("GNRMC,171003.40,A,4807.0380,N,01131.0000,E,0.02,,251126,,,A")
	frac40RMC2 = withSum("GNRMC,171004.40,A,4807.0380,N,01131.0000,E,0.02,,251126,,,A")
	frac972GGA = withSum("GPGGA,171003.972,4807.0380,N,01131.0000,E,1,07,1.2,545.4,M,46.9,M,,")
	// The integrated-navigation talker.
	inRMC = withSum("INRMC,090000.00,A,4807.0380,N,01131.0000,E,0.02,,251126,,,A")
)

// TestGoNMEARefusesWhatWeRead: the captures above are ones go-nmea cannot
// read (so a reader built on it alone loses their seconds).
func TestGoNMEARefusesWhatWeRead(t *testing.T) {
	for _, l := range []string{faaInDirRMC, shortGGA} {
		func() {
			defer func() { recover() }()
			if _, err := nmea.Parse(l); err == nil {
				t.Errorf("go-nmea reads %q: the lenient path is not needed for it", l)
			}
		}()
	}
}

func TestParserLenient(t *testing.T) {
	rx := time.Date(2026, 11, 25, 18, 12, 7, 300e6, time.UTC)
	d := func(h, m, s int) time.Time { return time.Date(2026, 11, 25, h, m, s, 0, time.UTC) }

	t.Run("FAA mode in the variation direction field", func(t *testing.T) {
		p := NewParser(NMEAConfig{})
		m, ok := p.Line(faaInDirRMC, rx)
		if !ok || !m.UTC.Equal(d(18, 12, 7)) || !m.Valid {
			t.Fatalf("got %+v %v, want a valid 18:12:07 (%+v)", m, ok, p.Stats().Snapshot())
		}
		// Mode N in that field: not a valid fix.
		m, ok = p.Line(withSum("GPRMC,181208.00,V,,,,,,,251126,,N"), rx.Add(time.Second))
		if !ok || m.Valid {
			t.Errorf("mode N: %+v %v, want an invalid 18:12:08", m, ok)
		}
		// E there is a direction (East), not dead reckoning.
		m, ok = p.Line(withSum("GPRMC,181209.00,A,,,,,,,251126,2.1,E"), rx.Add(2*time.Second))
		if !ok || !m.Valid {
			t.Errorf("variation East: %+v %v, want valid", m, ok)
		}
	})
	t.Run("13-field GGA", func(t *testing.T) {
		p := NewParser(NMEAConfig{})
		p.Line(faaInDirRMC, rx)
		m, ok := p.Line(shortGGA, rx.Add(time.Second))
		if !ok || !m.UTC.Equal(d(18, 12, 8)) || m.Sats != 7 || m.HDOP != 1.2 || !m.Valid {
			t.Fatalf("got %+v %v, want 18:12:08 with 7 satellites, HDOP 1.2", m, ok)
		}
	})
	t.Run("IN talker", func(t *testing.T) {
		p := NewParser(NMEAConfig{})
		if m, ok := p.Line(inRMC, rx); !ok || !m.UTC.Equal(d(9, 0, 0)) {
			t.Fatalf("got %+v %v (%+v)", m, ok, p.Stats().Snapshot())
		}
	})
	t.Run("fractional seconds keep their fraction", func(t *testing.T) {
		p := NewParser(NMEAConfig{})
		for i, c := range []struct {
			line string
			utc  time.Time
			frac time.Duration
		}{
			{frac40RMC, d(17, 10, 3), 400 * time.Millisecond},
			{frac40RMC2, d(17, 10, 4), 400 * time.Millisecond},
			{frac972GGA, time.Time{}, 0}, // 17:10:03, behind 17:10:04
		} {
			at := rx.Add(time.Duration(i) * time.Second)
			m, ok := p.Line(c.line, at)
			if c.utc.IsZero() {
				if ok {
					t.Errorf("line %d: reported %v after a later second", i, m.UTC)
				}
				continue
			}
			if !ok || !m.UTC.Equal(c.utc) || m.Fraction != c.frac || !m.Received.Equal(at.Add(-c.frac)) {
				t.Errorf("line %d: got UTC %v fraction %v received %v, %v; want %v, %v, %v", i, m.UTC, m.Fraction, m.Received, ok,
					c.utc, c.frac, at.Add(-c.frac))
			}
		}
		p = NewParser(NMEAConfig{})
		p.Line(withSum("GNRMC,171002.00,A,,,,,,,251126,,,A"), rx)
		m, ok := p.Line(frac972GGA, rx)
		if !ok || !m.UTC.Equal(d(17, 10, 3)) || m.Fraction != 972*time.Millisecond {
			t.Errorf(".972: got %+v %v", m, ok)
		}
		if c := p.Stats().Snapshot(); c.Fractional != 1 || c.Malformed != 0 || c.TimeMsgs != 2 {
			t.Errorf("counts %+v, want one fractional time and nothing malformed", c)
		}
	})
}

// TestParserZDAAhead: a receiver that sends the ZDA of the next second
// before the GGA and RMC of this one. The parser learns it from the first
// burst and reports every second once, in order, each from the first
// sentence that names it.
func TestParserZDAAhead(t *testing.T) {
	pulse := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := NewParser(NMEAConfig{})
	var got []TimeMsg
	for s := 0; s < 6; s++ {
		at := pulse.Add(time.Duration(s) * time.Second)
		hms := func(k int) string { return at.Add(time.Duration(k)*time.Second).Format("150405") + ".00" }
		for i, l := range []string{
			withSum("GPZDA," + hms(1) + ",25,11,2026,00,00"),
			withSum("GPGGA," + hms(0) + ",4807.0380,N,01131.0000,E,1,07,1.2,545.4,M,46.9,M,,"),
			withSum("GPRMC," + hms(0) + ",A,4807.0380,N,01131.0000,E,0.02,,251126,,,A"),
		} {
			if m, ok := p.Line(l, at.Add(100*time.Millisecond+time.Duration(i)*40*time.Millisecond)); ok {
				got = append(got, m)
			}
		}
	}
	if len(got) != 6 {
		t.Fatalf("%d seconds reported, want 6: %+v (%+v)", len(got), got, p.Stats().Snapshot())
	}
	for i, m := range got {
		if want := pulse.Add(time.Duration(i) * time.Second); !m.UTC.Equal(want) {
			t.Errorf("report %d names %v, want %v (the second of its burst)", i, m.UTC.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
		if i > 0 && m.Sentence != "ZDA" {
			t.Errorf("report %d from %s, want the burst's first sentence, the corrected ZDA", i, m.Sentence)
		}
	}
	if c := p.Stats().Snapshot(); c.Held != 1 || c.Behind != 0 {
		t.Errorf("counts %+v: want the first ZDA held and nothing behind", c)
	}
}

// TestParserNeverBackwards: seconds before one already reported are never
// reported (not only the previous one), until the receiver has gone on
// from the earlier time for three seconds (it really went back).
func TestParserNeverBackwards(t *testing.T) {
	rx := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := NewParser(NMEAConfig{})
	var got []string
	for i, hms := range []string{"120000", "120005", "120001", "120005", "120002", "120006",
		// The receiver really goes back an hour: followed on its third second.
		"110000", "110001", "110002", "110003"} {
		if m, ok := p.Line(withSum("GNRMC,"+hms+".00,A,,,,,,,251126,,,A"), rx.Add(time.Duration(i)*time.Second)); ok {
			got = append(got, m.UTC.Format("150405"))
		}
	}
	if want := "120000 120005 120006 110002 110003"; strings.Join(got, " ") != want {
		t.Errorf("reported %v, want %s", got, want)
	}
	if c := p.Stats().Snapshot(); c.Behind != 4 || c.SameSecond != 1 {
		t.Errorf("counts %+v, want 4 behind, 1 same second", c)
	}
}

// TestParserDateWindow: issue 8's dates: two-digit years resolve around
// the pivot (build date), a date before it by less than 1024 weeks is
// rolled over by one era, and a date that no era brings into [pivot,
// pivot + 1024 weeks) is passed on as the receiver said it (the
// discipline's bounds refuse it, naming it), never moved to 2100. The
// window is the discipline's: [pivot, pivot + source.DefaultPlausibleSpan).
func TestParserDateWindow(t *testing.T) {
	pivot := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	rx := pivot
	for _, c := range []struct {
		name   string
		line   string
		want   time.Time
		rolled bool
		out    bool
	}{
		{"this year", withSum("GPRMC,120000.00,A,,,,,,,150726,,,A"), time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC), false, false},
		{"year 04: 2004, not 2104", withSum("GPRMC,120000.00,A,,,,,,,150304,,,A"), time.Date(2004, 3, 15, 12, 0, 0, 0, time.UTC), false, true},
		{"year 00: 2000, not 2100", withSum("GPRMC,120000.00,A,,,,,,,010100,,,A"), time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC), false, true},
		{"one era behind: rolled", withSum("GPRMC,120000.00,A,,,,,,,101106,,,A"), time.Date(2006, 11, 10, 12, 0, 0, 0, time.UTC).Add(gpsEra), true, false},
		{"before the pivot, not by an era: as said", withSum("GPRMC,120000.00,A,,,,,,,010126,,,A"), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), false, true},
		{"GPS epoch (cold start), ZDA: as said", withSum("GPZDA,000000.00,06,01,1980,00,00"), time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC), false, true},
		{"more than 1024 weeks after: as said", withSum("GPZDA,000000.00,01,01,2047,00,00"), time.Date(2047, 1, 1, 0, 0, 0, 0, time.UTC), false, true},
		{"2036, inside the window", withSum("GPRMC,120000.00,A,,,,,,,190136,,,A"), time.Date(2036, 1, 19, 12, 0, 0, 0, time.UTC), false, false},
		{"2038, past the window: as said", withSum("GPRMC,120000.00,A,,,,,,,190138,,,A"), time.Date(2038, 1, 19, 12, 0, 0, 0, time.UTC), false, true},
	} {
		p := NewParser(NMEAConfig{Pivot: pivot})
		// A ZDA-only receiver is trusted after three ZDAs alone.
		var m TimeMsg
		var ok bool
		for i := 0; i < 3 && !ok; i++ {
			l := c.line
			if strings.HasPrefix(l, "$GPZDA") {
				l = withSum(strings.Replace(l[1:strings.IndexByte(l, '*')], "000000.00", "00000"+string(rune('0'+i))+".00", 1))
			}
			m, ok = p.Line(l, rx.Add(time.Duration(i)*time.Second))
		}
		st := p.Stats().Snapshot()
		want := c.want.Add(m.UTC.Sub(m.UTC.Truncate(time.Minute)) - c.want.Sub(c.want.Truncate(time.Minute)))
		if !ok || !m.UTC.Equal(want) || (st.Rollover == 1) != c.rolled || (st.OutOfWindow >= 1) != c.out {
			t.Errorf("%s: got %v %v, counts %+v; want %v rolled %v out %v", c.name, m.UTC, ok, st, want, c.rolled, c.out)
		}
	}
}

// TestFractionalNMEAOnlyOffset: a fix at .40 read without pulses gives a
// GPS sample whose offset uses the fraction: the local clock here is
// right, so the offset is zero, not -400 ms.
func TestFractionalNMEAOnlyOffset(t *testing.T) {
	p := NewParser(NMEAConfig{})
	pl := NewPipeline(LockerConfig{NMEADelay: 150 * time.Millisecond}, FilterConfig{}, false)
	fix := time.Date(2026, 11, 25, 17, 10, 3, 400e6, time.UTC)
	for i, l := range []string{frac40RMC, frac40RMC2} {
		rx := fix.Add(time.Duration(i)*time.Second + 150*time.Millisecond) // right local clock
		m, ok := p.Line(l, rx)
		if !ok {
			t.Fatalf("line %d not reported", i)
		}
		s, ok, _ := pl.AddTime(m)
		if !ok || s.Offset.Abs() > time.Microsecond {
			t.Errorf("line %d: sample %+v %v, want offset 0", i, s, ok)
		}
	}
}
