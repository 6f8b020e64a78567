package refclock

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

// gpsEra is 1024 GPS weeks, the period of the legacy 10-bit week number: a
// receiver whose firmware epoch has passed reports dates one era early.
const gpsEra = 1024 * 7 * 24 * time.Hour

// NMEAConfig tunes the NMEA parser and line reader.
type NMEAConfig struct {
	// Pivot is a time known to be in the past, such as the build date or the
	// drift file's modification time. Two-digit years resolve to the 100
	// years starting 20 years before Pivot's year, and a date before Pivot
	// is taken as a GPS week-number rollover and moved forward by whole
	// 1024-week eras. The host clock is never consulted.
	Pivot time.Time
	// MaxLineLen is the longest line kept, in bytes; longer lines are counted
	// (Overlong) and dropped. NMEA 0183 allows 82; proprietary sentences run
	// longer.
	MaxLineLen int
	// Talkers are the accepted talker IDs; other talkers are counted
	// (OtherTalker) and ignored.
	Talkers []string
}

// DefaultPivot is the pivot used when none is configured: a date before
// this code was written, so real dates are never after it by more than 80
// years nor moved by the rollover correction.
var DefaultPivot = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultNMEAConfig returns the default parser settings.
func DefaultNMEAConfig() NMEAConfig {
	return NMEAConfig{
		Pivot:      DefaultPivot,
		MaxLineLen: 256,
		Talkers:    []string{"GP", "GN", "GL", "GA", "BD", "GB", "GQ", "GI"},
	}
}

func (c NMEAConfig) withDefaults() NMEAConfig {
	d := DefaultNMEAConfig()
	if c.Pivot.IsZero() {
		c.Pivot = d.Pivot
	}
	orDefault(&c.MaxLineLen, d.MaxLineLen)
	if c.Talkers == nil {
		c.Talkers = d.Talkers
	}
	return c
}

// Validate reports a misconfiguration; zero fields are valid (defaults).
func (c NMEAConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if y := c.Pivot.Year(); y < 1980 || y > 9000 {
		errs = append(errs, fmt.Errorf("pivot %v is not a plausible GPS-era date", c.Pivot))
	}
	if c.MaxLineLen < 82 || c.MaxLineLen > 1<<16 {
		errs = append(errs, fmt.Errorf("MaxLineLen %d outside [82, 65536]", c.MaxLineLen))
	}
	for _, t := range c.Talkers {
		if len(t) != 2 {
			errs = append(errs, fmt.Errorf("talker %q is not two characters", t))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refclock: nmea config: %w", err)
	}
	return nil
}

// NMEAStats counts lines by fate. Fields are atomic so another goroutine
// may read them while the parser runs.
type NMEAStats struct {
	// Lines is every non-empty line seen.
	Lines atomic.Uint64
	// TimeMsgs is the number of TimeMsgs produced (one per UTC second).
	TimeMsgs atomic.Uint64
	// Noise: no '$' or non-printable bytes. Overlong: longer than
	// MaxLineLen. Checksum: missing or wrong checksum. Malformed: go-nmea
	// rejected the fields.
	Noise, Overlong, Checksum, Malformed atomic.Uint64
	// Unsupported: a sentence type not used for time (GSV, VTG, TXT, ...).
	// OtherTalker: a talker not in NMEAConfig.Talkers.
	Unsupported, OtherTalker atomic.Uint64
	// NoTime: empty time field (no fix yet). NoDate: time with no date
	// known yet. BadDate: impossible date. Fractional: time not on a whole
	// second (only whole seconds name a pulse). SameSecond: a further
	// time-bearing sentence for a second already reported.
	NoTime, NoDate, BadDate, Fractional, SameSecond atomic.Uint64
	// Rollover counts TimeMsgs moved forward by 1024-week eras.
	Rollover atomic.Uint64
}

// NMEACounts is a plain copy of NMEAStats.
type NMEACounts struct {
	Lines, TimeMsgs, Noise, Overlong, Checksum, Malformed, Unsupported, OtherTalker,
	NoTime, NoDate, BadDate, Fractional, SameSecond, Rollover uint64
}

// Snapshot copies the counters.
func (s *NMEAStats) Snapshot() NMEACounts {
	return NMEACounts{
		Lines: s.Lines.Load(), TimeMsgs: s.TimeMsgs.Load(), Noise: s.Noise.Load(),
		Overlong: s.Overlong.Load(), Checksum: s.Checksum.Load(), Malformed: s.Malformed.Load(),
		Unsupported: s.Unsupported.Load(), OtherTalker: s.OtherTalker.Load(), NoTime: s.NoTime.Load(),
		NoDate: s.NoDate.Load(), BadDate: s.BadDate.Load(), Fractional: s.Fractional.Load(),
		SameSecond: s.SameSecond.Load(), Rollover: s.Rollover.Load(),
	}
}

// Parser turns NMEA lines into TimeMsgs, one per UTC second: the first
// time-bearing sentence (RMC, ZDA, GGA, GNS) of a new second that can be
// dated. It is pure (no I/O, no clock: the receive time is an argument) and
// not safe for concurrent use, except Stats.
type Parser struct {
	cfg     NMEAConfig
	talkers map[string]bool
	sp      nmea.SentenceParser
	stats   *NMEAStats

	// lastDated is the latest fully dated time seen, read at lastDatedRx.
	lastDated, lastDatedRx time.Time
	hasDate                bool
	lastEmitted            time.Time
	valid                  bool
	fix, sats              int
	hdop                   float64
	// gsv collects the GSV cycle in progress per talker; sky holds the
	// last complete cycle per talker.
	gsv, sky map[string][]Satellite
	allSky   []Satellite
	inView   int
}

// NewParser returns a Parser with cfg; zero fields take defaults.
func NewParser(cfg NMEAConfig) *Parser {
	cfg = cfg.withDefaults()
	p := &Parser{cfg: cfg, talkers: map[string]bool{}, stats: new(NMEAStats)}
	for _, t := range cfg.Talkers {
		p.talkers[t] = true
	}
	return p
}

// Stats returns the parser's live counters (shared with its reader).
func (p *Parser) Stats() *NMEAStats { return p.stats }

// usedTypes are the sentence types the parser reads.
var usedTypes = map[string]bool{"RMC": true, "ZDA": true, "GGA": true, "GNS": true, "GSA": true, "GSV": true}

// Line parses one line (without its terminator) read completely at local
// time rx. It returns a TimeMsg when the line is the first dated
// time-bearing sentence of a new UTC second. Bad input is counted, never
// fatal.
func (p *Parser) Line(line string, rx time.Time) (m TimeMsg, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return TimeMsg{}, false
	}
	// Counted last, so a reader of the counters who sees Lines move also
	// sees the line's fate.
	defer p.stats.Lines.Add(1)
	if len(line) > p.cfg.MaxLineLen {
		p.stats.Overlong.Add(1)
		return TimeMsg{}, false
	}
	// Line noise before a sentence (a UBX frame, a glitch) is cut off at
	// the last '$'; a sentence holds only one.
	i := strings.LastIndexByte(line, '$')
	if i < 0 {
		p.stats.Noise.Add(1)
		return TimeMsg{}, false
	}
	line = line[i:]
	for j := 0; j < len(line); j++ {
		if c := line[j]; c < 0x20 || c > 0x7e {
			p.stats.Noise.Add(1)
			return TimeMsg{}, false
		}
	}
	if !checksumOK(line) {
		p.stats.Checksum.Add(1)
		return TimeMsg{}, false
	}
	comma := strings.IndexByte(line, ',')
	if comma != 6 {
		// Proprietary ($PUBX, $PMTK) or off-spec prefixes.
		p.stats.Unsupported.Add(1)
		return TimeMsg{}, false
	}
	talker, typ := line[1:3], line[3:6]
	if !usedTypes[typ] {
		p.stats.Unsupported.Add(1)
		return TimeMsg{}, false
	}
	if !p.talkers[talker] {
		p.stats.OtherTalker.Add(1)
		return TimeMsg{}, false
	}
	s, err := p.parse(line)
	if err != nil {
		p.stats.Malformed.Add(1)
		return TimeMsg{}, false
	}
	var (
		t    nmea.Time
		date civilDate
	)
	switch v := s.(type) {
	case nmea.GSA:
		switch v.FixType {
		case nmea.Fix2D:
			p.fix = 2
		case nmea.Fix3D:
			p.fix = 3
		default:
			p.fix = 0
		}
		return TimeMsg{}, false
	case nmea.GSV:
		p.addGSV(talker, v)
		return TimeMsg{}, false
	case nmea.RMC:
		t = v.Time
		// FAA mode N (not valid) and E (dead reckoning) do not name a
		// satellite-derived second.
		p.valid = v.Validity == nmea.ValidRMC && v.FFAMode != nmea.FAAModeDataNotValid &&
			v.FFAMode != nmea.FAAModeEstimated
		if v.Date.Valid {
			date = p.centuryDate(v.Date)
		}
	case nmea.ZDA:
		t = v.Time
		if v.Year != 0 || v.Month != 0 || v.Day != 0 {
			date = civilDate{int(v.Year), int(v.Month), int(v.Day), true}
		}
	case nmea.GGA:
		t = v.Time
		switch v.FixQuality {
		case nmea.GPS, nmea.DGPS, nmea.PPS, nmea.RTK, nmea.FRTK:
			p.valid = true
		default: // invalid, estimated (dead reckoning)
			p.valid = false
		}
		p.sats = int(v.NumSatellites)
		p.hdop = v.HDOP
	case nmea.GNS:
		t = v.Time
		p.valid = false
		for _, c := range v.Mode {
			if c != nmea.NoFixGNS && c != nmea.EstimatedGNS && c != nmea.ManualGNS && c != nmea.SimulatorGNS {
				p.valid = true
			}
		}
		p.sats = int(v.SVs)
	default:
		p.stats.Unsupported.Add(1)
		return TimeMsg{}, false
	}
	return p.timeMsg(typ, t, date, rx)
}

// addGSV adds one GSV message to its talker's cycle; the last message of a
// cycle replaces that talker's sky.
func (p *Parser) addGSV(talker string, v nmea.GSV) {
	if p.gsv == nil {
		p.gsv, p.sky = map[string][]Satellite{}, map[string][]Satellite{}
	}
	if v.MessageNumber <= 1 {
		p.gsv[talker] = p.gsv[talker][:0]
	}
	for _, in := range v.Info {
		if in.SVPRNNumber <= 0 || len(p.gsv[talker]) >= maxSatsPerTalker {
			continue
		}
		p.gsv[talker] = append(p.gsv[talker], Satellite{Talker: talker, PRN: int(in.SVPRNNumber),
			ElevationDeg: int(min(max(in.Elevation, 0), 90)), AzimuthDeg: int(min(max(in.Azimuth, 0), 359)),
			SNRdB: int(min(max(in.SNR, 0), 99))})
	}
	if v.MessageNumber < v.TotalMessages {
		return
	}
	p.sky[talker] = append([]Satellite(nil), p.gsv[talker]...)
	talkers := make([]string, 0, len(p.sky))
	for t := range p.sky {
		talkers = append(talkers, t)
	}
	slices.Sort(talkers)
	var all []Satellite
	for _, t := range talkers {
		all = append(all, p.sky[t]...)
	}
	// A fresh slice each time: TimeMsgs already handed out keep theirs.
	p.allSky, p.inView = all, len(all)
}

// maxSatsPerTalker bounds a talker's sky against a runaway GSV cycle.
const maxSatsPerTalker = 64

// parse runs go-nmea, turning a panic on hostile input into an error so a
// library bug cannot stop the reader.
func (p *Parser) parse(line string) (s nmea.Sentence, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("nmea: panic: %v", r)
		}
	}()
	return p.sp.Parse(line)
}

type civilDate struct {
	y, m, d int
	ok      bool
}

// centuryDate resolves RMC's two-digit year into the 100 years starting 20
// years before the pivot (room for one week-number rollover below it).
func (p *Parser) centuryDate(d nmea.Date) civilDate {
	lo := p.cfg.Pivot.Year() - 20
	y := lo + ((d.YY-lo%100)%100+100)%100
	return civilDate{y, d.MM, d.DD, true}
}

func (p *Parser) timeMsg(typ string, t nmea.Time, date civilDate, rx time.Time) (TimeMsg, bool) {
	if !t.Valid {
		p.stats.NoTime.Add(1)
		return TimeMsg{}, false
	}
	if t.Hour > 23 || t.Minute > 59 || t.Second > 60 || t.Millisecond >= 1000 {
		p.stats.Malformed.Add(1)
		return TimeMsg{}, false
	}
	if t.Millisecond != 0 {
		p.stats.Fractional.Add(1)
		return TimeMsg{}, false
	}
	leap := t.Second == 60
	sec := t.Second
	if leap {
		sec = 59
	}
	var utc time.Time
	if date.ok {
		if date.y < 1980 || date.y > 9999 || date.m < 1 || date.m > 12 || date.d < 1 || date.d > 31 {
			p.stats.BadDate.Add(1)
			return TimeMsg{}, false
		}
		utc = time.Date(date.y, time.Month(date.m), date.d, t.Hour, t.Minute, sec, 0, time.UTC)
		if utc.Day() != date.d {
			p.stats.BadDate.Add(1) // 31 April and the like
			return TimeMsg{}, false
		}
		rolled := false
		for n := 0; utc.Before(p.cfg.Pivot) && n < 4; n++ {
			utc = utc.Add(gpsEra)
			rolled = true
		}
		if rolled {
			p.stats.Rollover.Add(1)
		}
		p.lastDated, p.lastDatedRx, p.hasDate = utc, rx, true
	} else {
		if !p.hasDate {
			p.stats.NoDate.Add(1)
			return TimeMsg{}, false
		}
		utc = p.dateFromLast(t.Hour, t.Minute, sec, rx)
	}
	if utc.Equal(p.lastEmitted) {
		p.stats.SameSecond.Add(1)
		return TimeMsg{}, false
	}
	p.lastEmitted = utc
	p.stats.TimeMsgs.Add(1)
	return TimeMsg{
		UTC: utc, Received: rx, Valid: p.valid, Fix: p.fix, Sats: p.sats,
		HDOP: p.hdop, InView: p.inView, Sky: p.allSky,
		LeapSecond: leap, Sentence: typ,
	}, true
}

// dateFromLast dates a time of day with the day (of the last date seen, or
// the day before or after it) that puts it nearest to where the last dated
// time has got to by now, so midnight between an RMC and a GGA is crossed.
func (p *Parser) dateFromLast(h, m, s int, rx time.Time) time.Time {
	expect := p.lastDated.Add(rx.Sub(p.lastDatedRx))
	y, mo, d := p.lastDated.Date()
	best := time.Time{}
	for _, dd := range []int{-1, 0, 1} {
		c := time.Date(y, mo, d+dd, h, m, s, 0, time.UTC)
		if best.IsZero() || c.Sub(expect).Abs() < best.Sub(expect).Abs() {
			best = c
		}
	}
	return best
}

// checksumOK checks "$...*hh": hh is the XOR of the bytes between '$' and
// '*', in hex (either case).
func checksumOK(line string) bool {
	star := strings.LastIndexByte(line, '*')
	if star < 1 || len(line)-star != 3 {
		return false
	}
	var x byte
	for i := 1; i < star; i++ {
		x ^= line[i]
	}
	hi, ok1 := unhex(line[star+1])
	lo, ok2 := unhex(line[star+2])
	return ok1 && ok2 && hi<<4|lo == x
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
