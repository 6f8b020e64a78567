package refclock

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	nmea "github.com/adrianmo/go-nmea"

	"github.com/gnomon-ntp/gnomon/source"
)

// gpsEra is 1024 GPS weeks, the period of the legacy 10-bit week number: a
// receiver whose firmware epoch has passed reports dates one era early.
const gpsEra = 1024 * 7 * 24 * time.Hour

// NMEAConfig tunes the NMEA parser and line reader.
type NMEAConfig struct {
	// Pivot is a time known to be in the past, such as the build date or the
	// drift file's modification time. Two-digit years resolve to the 100
	// years starting 40 years before Pivot's year, and a date before Pivot
	// is taken as a GPS week-number rollover and moved forward by one
	// 1024-week era when that lands it in the plausible window [Pivot,
	// Pivot + source.DefaultPlausibleSpan);
	// other dates are passed on as the receiver said them (the
	// discipline's plausible bounds refuse them, naming the date). The host
	// clock is never consulted.
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
		Talkers:    []string{"GP", "GN", "GL", "GA", "BD", "GB", "GQ", "GI", "IN"},
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
	// known yet. BadDate: impossible date. Fractional: TimeMsgs from a
	// time not on a whole second (used with its fraction). SameSecond: a
	// further time-bearing sentence for a second already reported.
	NoTime, NoDate, BadDate, Fractional, SameSecond atomic.Uint64
	// Rollover counts TimeMsgs moved forward by a 1024-week era;
	// OutOfWindow dates outside the plausible window after Pivot that no
	// era correction brings into it (passed on as they are).
	Rollover, OutOfWindow atomic.Uint64
	// Behind: a time before the last one reported (a ZDA naming the next
	// second ahead of the RMC of this one, a receiver jumping back), never
	// reported. Held: a ZDA whose second is not yet known to be the one
	// its burst's RMC or GGA names, not reported.
	Behind, Held atomic.Uint64
}

// NMEACounts is a plain copy of NMEAStats.
type NMEACounts struct {
	Lines, TimeMsgs, Noise, Overlong, Checksum, Malformed, Unsupported, OtherTalker,
	NoTime, NoDate, BadDate, Fractional, SameSecond, Rollover, OutOfWindow, Behind, Held uint64
}

// Snapshot copies the counters.
func (s *NMEAStats) Snapshot() NMEACounts {
	return NMEACounts{
		Lines: s.Lines.Load(), TimeMsgs: s.TimeMsgs.Load(), Noise: s.Noise.Load(),
		Overlong: s.Overlong.Load(), Checksum: s.Checksum.Load(), Malformed: s.Malformed.Load(),
		Unsupported: s.Unsupported.Load(), OtherTalker: s.OtherTalker.Load(), NoTime: s.NoTime.Load(),
		NoDate: s.NoDate.Load(), BadDate: s.BadDate.Load(), Fractional: s.Fractional.Load(),
		SameSecond: s.SameSecond.Load(), Rollover: s.Rollover.Load(), OutOfWindow: s.OutOfWindow.Load(),
		Behind: s.Behind.Load(), Held: s.Held.Load(),
	}
}

// Parser turns NMEA lines into TimeMsgs, one per UTC second: the first
// time-bearing sentence (RMC, ZDA, GGA, GNS) of a new second that can be
// dated, never a second before one already reported. It reads the time,
// date and status fields of those sentences itself, leniently as gpsd
// does (fractional seconds, an FAA mode letter in RMC's variation
// direction, missing trailing fields), with the checksum mandatory. It is
// pure (no I/O, no clock: the receive time is an argument) and not safe
// for concurrent use, except Stats.
type Parser struct {
	cfg     NMEAConfig
	talkers map[string]bool
	sp      nmea.SentenceParser
	stats   *NMEAStats

	// lastDated is the latest fully dated time seen, read at lastDatedRx.
	lastDated, lastDatedRx time.Time
	hasDate                bool
	// last is the latest second reported; behind counts the advancing
	// seconds seen behind it since (a receiver that really went back is
	// followed after behindReset of them), behindAt the latest of those.
	last     secondKey
	hasLast  bool
	behind   int
	behindAt secondKey
	// zda is what is known of the receiver's ZDA: whether it names the
	// second its burst's RMC/GGA/GNS names (lead 0) or the next (lead 1).
	zda       zdaState
	valid     bool
	fix, sats int
	hdop      float64
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
// time-bearing sentence of a UTC second after the last one reported. Bad
// input is counted, never fatal.
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
	switch typ {
	case "GSA", "GSV":
	default:
		return p.timeSentence(typ, fields(line), rx)
	}
	s, err := p.parse(line)
	if err != nil {
		p.stats.Malformed.Add(1)
		return TimeMsg{}, false
	}
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
	case nmea.GSV:
		p.addGSV(talker, v)
	default:
		p.stats.Unsupported.Add(1)
	}
	return TimeMsg{}, false
}

// fields splits a checked sentence "$TTSSS,a,b*hh" into its fields after
// the address: ["a", "b"].
func fields(line string) []string {
	star := strings.LastIndexByte(line, '*')
	if len(line) <= 7 || line[6] != ',' || star < 7 {
		return nil
	}
	return strings.Split(line[7:star], ",")
}

// field returns f[i], or "" past the end (receivers leave trailing fields
// out).
func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// timeSentence reads the time, date and status of an RMC, GGA, GNS or ZDA
// (f: the fields after the address). Only the fields used are checked;
// the others (position, course, variation) may be anything.
func (p *Parser) timeSentence(typ string, f []string, rx time.Time) (TimeMsg, bool) {
	t, err := parseTimeOfDay(field(f, 0))
	if err != nil {
		p.stats.Malformed.Add(1)
		return TimeMsg{}, false
	}
	var date civilDate
	switch typ {
	case "RMC":
		// NMEA 2.3+: field 11 is the FAA mode; receivers that leave out
		// the variation direction put the mode in field 10 ("...,0,A").
		mode := field(f, 11)
		if len(f) == 11 && isFAAMode(field(f, 10)) {
			mode = field(f, 10)
		}
		// FAA mode N (not valid) and E (dead reckoning) do not name a
		// satellite-derived second.
		p.valid = field(f, 1) == "A" && mode != "N" && mode != "E"
		if d := field(f, 8); d != "" {
			if date, err = parseDDMMYY(d); err != nil {
				p.stats.Malformed.Add(1)
				return TimeMsg{}, false
			}
			date = p.centuryDate(date)
		}
	case "ZDA":
		if field(f, 1) != "" || field(f, 2) != "" || field(f, 3) != "" {
			var dmy [3]int
			for i := range dmy {
				if dmy[i], err = strconv.Atoi(field(f, i+1)); err != nil {
					p.stats.Malformed.Add(1)
					return TimeMsg{}, false
				}
			}
			date = civilDate{dmy[2], dmy[1], dmy[0], true}
		}
	case "GGA":
		switch field(f, 5) {
		case "1", "2", "3", "4", "5": // GPS, DGPS, PPS, RTK, float RTK
			p.valid = true
		default: // invalid, estimated (dead reckoning), manual, simulated
			p.valid = false
		}
		p.sats, _ = strconv.Atoi(field(f, 6))
		p.hdop, _ = strconv.ParseFloat(field(f, 7), 64)
	case "GNS":
		p.valid = false
		for _, c := range field(f, 5) {
			if c != 'N' && c != 'E' && c != 'M' && c != 'S' {
				p.valid = true
			}
		}
		p.sats, _ = strconv.Atoi(field(f, 6))
	}
	return p.timeMsg(typ, t, date, rx)
}

// isFAAMode reports whether s is an FAA mode indicator that cannot be a
// variation direction (E and W are directions).
func isFAAMode(s string) bool {
	switch s {
	case "A", "D", "N", "F", "R", "P", "S", "M":
		return true
	}
	return false
}

// timeOfDay is an NMEA hhmmss[.fff] field; sec 60 is a leap second.
type timeOfDay struct {
	hour, min, sec int
	frac           time.Duration
	ok             bool // false: the field was empty (no fix yet)
}

// parseTimeOfDay reads hhmmss with an optional fraction of any length
// (nanosecond resolution kept). An empty field is no time, not an error.
func parseTimeOfDay(s string) (timeOfDay, error) {
	if s == "" {
		return timeOfDay{}, nil
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if len(whole) != 6 || (hasFrac && frac == "") {
		return timeOfDay{}, fmt.Errorf("nmea: time %q", s)
	}
	var v [3]int
	for i := range v {
		a, b := whole[2*i], whole[2*i+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return timeOfDay{}, fmt.Errorf("nmea: time %q", s)
		}
		v[i] = int(a-'0')*10 + int(b-'0')
	}
	t := timeOfDay{hour: v[0], min: v[1], sec: v[2], ok: true}
	scale := time.Duration(100 * time.Millisecond)
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return timeOfDay{}, fmt.Errorf("nmea: time %q", s)
		}
		t.frac += time.Duration(c-'0') * scale
		scale /= 10
	}
	if t.hour > 23 || t.min > 59 || t.sec > 60 {
		return timeOfDay{}, fmt.Errorf("nmea: time %q out of range", s)
	}
	return t, nil
}

// parseDDMMYY reads RMC's ddmmyy date (two-digit year, century unresolved).
func parseDDMMYY(s string) (civilDate, error) {
	if len(s) != 6 {
		return civilDate{}, fmt.Errorf("nmea: date %q", s)
	}
	var v [3]int
	for i := range v {
		a, b := s[2*i], s[2*i+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return civilDate{}, fmt.Errorf("nmea: date %q", s)
		}
		v[i] = int(a-'0')*10 + int(b-'0')
	}
	return civilDate{v[2], v[1], v[0], true}, nil
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

// centuryDate resolves RMC's two-digit year into the 100 years starting 40
// years before the pivot's year: a receiver one week-number era behind
// (19.6 years) and the 20 years after the pivot that the era correction
// accepts are both in it, and a year 00-04 is never read as 2100-2104.
func (p *Parser) centuryDate(d civilDate) civilDate {
	lo := p.cfg.Pivot.Year() - 40
	d.y = lo + ((d.y-lo%100)%100+100)%100
	return d
}

// secondKey orders reported seconds: a leap second (23:59:60, reported as
// a second 23:59:59) comes after the 23:59:59 it repeats.
type secondKey struct {
	unix int64
	leap bool
}

func (k secondKey) after(o secondKey) bool {
	return k.unix > o.unix || (k.unix == o.unix && k.leap && !o.leap)
}

// behindReset is how many advancing seconds behind the last reported one
// make the parser follow the receiver back (it really went back, e.g. from
// a wrong time to the right one); fewer are never reported.
const behindReset = 3

// zdaState is what the parser has learnt of the receiver's ZDA.
type zdaState struct {
	known bool
	lead  time.Duration // 0, or 1 s: ZDA names the second after its burst's
	alone int           // ZDAs in a row with no RMC/GGA/GNS near them
	// at and atRx are the last ZDA's second (as it said it) and receive
	// time; posAt and posRx the last RMC/GGA/GNS's.
	at, atRx, posAt, posRx time.Time
}

// sameBurst is how close together two sentences are read to be taken as
// one burst (of one second's sentences).
const sameBurst = 500 * time.Millisecond

// zdaTrusted says whether ZDA can be reported: its second is known to be
// the one its burst names (or one ahead, corrected), or no other
// time-bearing sentence comes to compare it with (a ZDA-only receiver).
func (p *Parser) zdaTrusted() bool { return p.zda.known || p.zda.alone >= behindReset }

// learnZDA compares a ZDA with the RMC/GGA/GNS of its burst: a ZDA read
// after one naming the same second, or before one naming the same second,
// names its burst's second; a ZDA read before one naming the second
// before names the next second, and is corrected from then on. (A ZDA
// naming one second after the sentence read before it proves nothing: it
// may be the first of the next burst.)
func (p *Parser) learnZDA(typ string, utc, rx time.Time) {
	z := &p.zda
	near := func(a, b time.Time) bool { return !a.IsZero() && !b.IsZero() && b.Sub(a) >= 0 && b.Sub(a) < sameBurst }
	if typ == "ZDA" {
		z.at, z.atRx = utc, rx
		if near(z.posRx, rx) {
			z.alone = 0
			if !z.known && utc.Equal(z.posAt) {
				z.known, z.lead = true, 0
			}
		} else {
			z.alone++
		}
		return
	}
	z.posAt, z.posRx = utc, rx
	z.alone = 0
	if z.known || !near(z.atRx, rx) {
		return
	}
	switch z.at.Sub(utc) {
	case 0:
		z.known, z.lead = true, 0
	case time.Second:
		z.known, z.lead = true, time.Second
	}
}

// inWindow applies the week-number correction: a date before the pivot
// is moved forward by one 1024-week era when that lands it in the
// plausible window [Pivot, Pivot + source.DefaultPlausibleSpan) the
// discipline holds every reference to; a date there already is kept; any
// other is returned as it is with ok false (the discipline's bounds refuse
// it, naming it).
func (p *Parser) inWindow(utc time.Time) (t time.Time, rolled, ok bool) {
	lo, hi := p.cfg.Pivot, p.cfg.Pivot.Add(source.DefaultPlausibleSpan)
	switch {
	case !utc.Before(lo) && utc.Before(hi):
		return utc, false, true
	case utc.Before(lo):
		if r := utc.Add(gpsEra); !r.Before(lo) && r.Before(hi) {
			return r, true, true
		}
	}
	return utc, false, false
}

func (p *Parser) timeMsg(typ string, t timeOfDay, date civilDate, rx time.Time) (TimeMsg, bool) {
	if !t.ok {
		p.stats.NoTime.Add(1)
		return TimeMsg{}, false
	}
	leap := t.sec == 60
	sec := t.sec
	if leap {
		sec = 59
	}
	var utc time.Time
	if date.ok {
		if date.y < 1980 || date.y > 9999 || date.m < 1 || date.m > 12 || date.d < 1 || date.d > 31 {
			p.stats.BadDate.Add(1)
			return TimeMsg{}, false
		}
		utc = time.Date(date.y, time.Month(date.m), date.d, t.hour, t.min, sec, 0, time.UTC)
		if utc.Day() != date.d {
			p.stats.BadDate.Add(1) // 31 April and the like
			return TimeMsg{}, false
		}
		var rolled, ok bool
		if utc, rolled, ok = p.inWindow(utc); rolled {
			p.stats.Rollover.Add(1)
		} else if !ok {
			p.stats.OutOfWindow.Add(1)
		}
		p.lastDated, p.lastDatedRx, p.hasDate = utc, rx, true
	} else {
		if !p.hasDate {
			p.stats.NoDate.Add(1)
			return TimeMsg{}, false
		}
		utc = p.dateFromLast(t.hour, t.min, sec, rx)
	}
	p.learnZDA(typ, utc, rx)
	if typ == "ZDA" {
		utc = utc.Add(-p.zda.lead)
	}
	key := secondKey{utc.Unix(), leap}
	if p.hasLast && !key.after(p.last) {
		if key == p.last {
			p.stats.SameSecond.Add(1)
			return TimeMsg{}, false
		}
		// Behind the last second reported: dropped, unless the receiver
		// has kept going from there for behindReset seconds.
		if p.behind == 0 || key.after(p.behindAt) {
			p.behind++
			p.behindAt = key
		}
		if p.behind < behindReset {
			p.stats.Behind.Add(1)
			return TimeMsg{}, false
		}
	}
	if typ == "ZDA" && !p.zdaTrusted() {
		p.stats.Held.Add(1)
		return TimeMsg{}, false
	}
	p.last, p.hasLast, p.behind = key, true, 0
	p.stats.TimeMsgs.Add(1)
	if t.frac != 0 {
		p.stats.Fractional.Add(1)
	}
	return TimeMsg{
		UTC: utc, Received: rx.Add(-t.frac), Fraction: t.frac, Valid: p.valid, Fix: p.fix, Sats: p.sats,
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
