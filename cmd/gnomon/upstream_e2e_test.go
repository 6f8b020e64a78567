package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// These tests run gnomon's simulated appliance against real chronyd
// upstreams on loopback (chronyd -x: the host clock is never changed) and
// lying servers of ours, and watch from outside what it serves. Polls are
// short (minpoll 1 maxpoll 2) so each scenario fits in about a minute and a
// half; the figures they print are the scenario table of issue 8.

// upstreamOpts are the --upstream entry options of the tests: 2-4 s polls.
const upstreamOpts = " minpoll 1 maxpoll 2"

// chronydUpstreams starts n chronyd servers and returns the --upstream
// flags naming them.
func chronydUpstreams(t *testing.T, n int) []string {
	t.Helper()
	var args []string
	for i := 0; i < n; i++ {
		s := testpeer.StartChronyd(t)
		args = append(args, "--upstream", s.Addr.String()+upstreamOpts)
	}
	return args
}

// liarUpstreams starts one lying server per offset and returns the
// --upstream flags naming them.
func liarUpstreams(t *testing.T, offsets ...time.Duration) []string {
	t.Helper()
	var args []string
	for _, off := range offsets {
		s := testpeer.StartNTPServer(t, off)
		args = append(args, "--upstream", s.Addr.String()+upstreamOpts)
	}
	return args
}

// served is one answer of gnomon, as a client on this machine saw it.
type served struct {
	at             time.Duration // since the watch began
	stratum        uint8
	refID          string
	leap           ntp.LeapIndicator
	offset         time.Duration // gnomon's time minus the host clock (true time)
	rootDelay      time.Duration
	rootDispersion time.Duration
}

func (s served) String() string {
	return fmt.Sprintf("%5.1fs stratum %2d %-4s offset %9v root delay %v dispersion %v",
		s.at.Seconds(), s.stratum, s.refID, s.offset.Round(time.Microsecond), s.rootDelay, s.rootDispersion)
}

// watcher queries gnomon every 2.5 s (inside the default rate limit) and
// keeps every answer.
type watcher struct {
	start time.Time
	mu    sync.Mutex
	seen  []served
	stop  chan struct{}
	done  chan struct{}
}

func watch(t *testing.T, p *proc) *watcher {
	host, port := p.hostPort(t)
	w := &watcher{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, Timeout: 2 * time.Second})
			if err == nil {
				s := served{at: time.Since(w.start), stratum: r.Stratum, refID: r.ReferenceString(), leap: r.Leap,
					offset: r.ClockOffset, rootDelay: r.RootDelay, rootDispersion: r.RootDispersion}
				if r.Stratum == 1 {
					s.refID = strings.TrimRight(string([]byte{byte(r.ReferenceID >> 24), byte(r.ReferenceID >> 16), byte(r.ReferenceID >> 8), byte(r.ReferenceID)}), "\x00")
				}
				w.mu.Lock()
				w.seen = append(w.seen, s)
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(2500 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.end)
	return w
}

func (w *watcher) end() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// answers returns the answers so far.
func (w *watcher) answers() []served {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]served(nil), w.seen...)
}

// until waits (at most d) for an answer satisfying ok and returns it.
func (w *watcher) until(t *testing.T, p *proc, d time.Duration, what string, ok func(served) bool) served {
	t.Helper()
	deadline := time.Now().Add(d)
	seen := 0
	for time.Now().Before(deadline) {
		a := w.answers()
		for ; seen < len(a); seen++ {
			if ok(a[seen]) {
				return a[seen]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no answer with %s within %v; answers:\n%s\ngnomon:\n%s", what, d, table(w.answers()), p.Log())
	return served{}
}

// table prints the answers, and the stratum over time in short.
func table(a []served) string {
	var b strings.Builder
	for _, s := range a {
		b.WriteString(s.String() + "\n")
	}
	return b.String()
}

// strata sums up the stratum over time: "1 (0-20s) 2 (22-40s) ...".
func strata(a []served) string {
	var parts []string
	for i := 0; i < len(a); {
		j := i
		for j+1 < len(a) && a[j+1].stratum == a[i].stratum {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d (%.0f-%.0fs)", a[i].stratum, a[i].at.Seconds(), a[j].at.Seconds()))
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// worstSynced is the largest |offset| of the synchronised answers from
// index i on.
func worstSynced(a []served) time.Duration {
	var worst time.Duration
	for _, s := range a {
		if s.leap != ntp.LeapNotInSync && s.stratum > 0 && s.stratum < 16 {
			worst = max(worst, s.offset.Abs())
		}
	}
	return worst
}

var stepRE = regexp.MustCompile(`msg="clock stepped".* step=(\S+)`)

// steps returns the steps the log shows.
func steps(t *testing.T, log string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, m := range stepRE.FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("step %q: %v", m[1], err)
		}
		out = append(out, d)
	}
	return out
}

// checkOneStartupStep: the only step allowed is the first one, from the
// simulated clock's 200 ms start offset to true time.
func checkOneStartupStep(t *testing.T, p *proc) {
	t.Helper()
	st := steps(t, p.Log())
	if len(st) > 1 {
		t.Errorf("the clock was stepped %d times (%v): only the start-up step is allowed\n%s", len(st), st, p.Log())
	}
	for _, d := range st {
		if (d + simStartOffset).Abs() > 20*time.Millisecond {
			t.Errorf("step %v is not the start-up step of %v\n%s", d, -simStartOffset, p.Log())
		}
	}
}

var firstTimeRE = regexp.MustCompile(`msg="first time taken" part=discipline from=("[^"]+"|\S+) source=(\S+)`)

// firstTime returns where the log says the first time came from, and the
// source.
func firstTime(t *testing.T, p *proc) (from, src string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := firstTimeRE.FindStringSubmatch(p.Log()); m != nil {
			if strings.Count(p.Log(), `msg="first time taken"`) != 1 {
				t.Errorf("first time logged more than once\n%s", p.Log())
			}
			return strings.Trim(m[1], `"`), m[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no first time in the log\n%s", p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// peerLine is one line of ntpq -p.
type peerLine struct {
	tally         byte
	remote, refid string
	stratum       int
	reach         string
	delayMs       float64
	offsetMs      float64
	jitterMs      float64
	raw           string
}

// ntpqPeers runs ntpsec's ntpq -n -p against gnomon and parses its lines.
func ntpqPeers(t *testing.T, p *proc) ([]peerLine, string) {
	t.Helper()
	_, port := p.hostPort(t)
	w := testpeer.PortWrapper(t, testpeer.Ntpq(t), uint16(port))
	out, err := exec.Command(testpeer.Python3, w, "-n", "-p", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("ntpq -p: %v\n%s", err, out)
	}
	var lines []peerLine
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 10 || strings.HasPrefix(l, "=") || f[0] == "remote" {
			continue
		}
		pl := peerLine{tally: l[0], remote: strings.TrimLeft(f[0], " *+-x#o."), refid: f[1], reach: f[6], raw: l}
		if pl.tally != ' ' {
			pl.remote = f[0][1:]
		}
		pl.stratum, _ = strconv.Atoi(f[2])
		pl.delayMs, _ = strconv.ParseFloat(f[7], 64)
		pl.offsetMs, _ = strconv.ParseFloat(f[8], 64)
		pl.jitterMs, _ = strconv.ParseFloat(f[9], 64)
		lines = append(lines, pl)
	}
	return lines, string(out)
}

// TestUpstreamChronydLiarsRejected: with three chronyd upstreams and two
// liars (100 ms and 1 s off) gnomon keeps the GPS as system peer at stratum
// 1, marks both liars falsetickers, and ntpq -p lists every source with its
// tally code, reach, delay, offset and jitter.
func TestUpstreamChronydLiarsRejected(t *testing.T) {
	args := append(chronydUpstreams(t, 3), liarUpstreams(t, 100*time.Millisecond, time.Second)...)
	p := startSim(t, args...)
	w := watch(t, p)
	first := w.until(t, p, lockDeadline, "stratum 1 PPS within 1 ms", func(s served) bool {
		return s.stratum == 1 && s.refID == "PPS" && s.offset.Abs() < time.Millisecond
	})
	// A few more polls so the reach registers fill.
	deadline := time.Now().Add(40 * time.Second)
	var lines []peerLine
	var out string
	for {
		time.Sleep(3 * time.Second)
		lines, out = ntpqPeers(t, p)
		if ntpqSettled(lines) || time.Now().After(deadline) {
			break
		}
	}
	w.end()
	a := w.answers()
	t.Logf("stratum 1 / PPS after %.1f s; stratum over time: %s; worst synchronised offset %v\n%s",
		first.at.Seconds(), strata(a), worstSynced(a), table(a))
	t.Logf("ntpq -p:\n%s", out)
	checkPeers(t, lines, out, 3, []float64{100, 1000})
	if from, src := firstTime(t, p); from != "GPS vouched by upstreams" && from != "upstreams" {
		t.Errorf("first time from %q (%s): want the GPS vouched for by the upstreams, or the upstreams", from, src)
	} else {
		t.Logf("first time taken from %s (%s)", from, src)
	}
	for _, s := range a {
		if s.at >= first.at && (s.stratum != 1 || s.offset.Abs() > time.Millisecond) {
			t.Errorf("after the lock gnomon served %v", s)
		}
	}
	log := p.Log()
	if n := strings.Count(log, `falseticker: it disagrees with the others and is not used" part=discipline source=127.0.0.1:`); n < 2 {
		t.Errorf("%d upstreams were marked falsetickers, want the two liars\n%s", n, log)
	}
	checkOneStartupStep(t, p)
}

// ntpqSettled: the GPS is the system peer and every upstream has answered
// at least three polls.
func ntpqSettled(lines []peerLine) bool {
	star := false
	for _, l := range lines {
		if (l.tally == 'o' || l.tally == '*') && strings.Contains(l.remote, "PPS") {
			star = true
		}
		if r, err := strconv.ParseUint(l.reach, 8, 8); err != nil || r&7 != 7 {
			return false
		}
	}
	return star && len(lines) > 1
}

// checkPeers checks ntpq -p's lines: the PPS refclock is the system peer
// ('o', ntpd's tally code of a PPS system peer), honest upstreams are candidates or outliers ('+' or '-') within a
// millisecond, each liar (offset in ms) a falseticker ('x'); every line has
// a reach and sane delay and jitter.
func checkPeers(t *testing.T, lines []peerLine, out string, honest int, liarsMs []float64) {
	t.Helper()
	if len(lines) != 1+honest+len(liarsMs) {
		t.Fatalf("ntpq -p lists %d sources, want %d:\n%s", len(lines), 1+honest+len(liarsMs), out)
	}
	var gps, good int
	liars := map[float64]bool{}
	for _, l := range lines {
		if r, err := strconv.ParseUint(l.reach, 8, 8); err != nil || r == 0 {
			t.Errorf("%q: reach %q", l.raw, l.reach)
		}
		if l.delayMs < 0 || l.delayMs > 50 || l.jitterMs < 0 || l.jitterMs > 50 {
			t.Errorf("%q: delay %v ms, jitter %v ms", l.raw, l.delayMs, l.jitterMs)
		}
		switch {
		case strings.Contains(l.remote, "PPS"):
			gps++
			// 'o': the system peer is a PPS refclock (ntpd's code for
			// it); '*' for the NMEA refclock.
			if (l.tally != 'o' && l.tally != '*') || l.refid != ".PPS." {
				t.Errorf("GPS line %q: want tally 'o' (PPS system peer) and refid .PPS.", l.raw)
			}
		case l.remote == "127.0.0.1" && abs(l.offsetMs) < 1:
			good++
			if l.tally != '+' && l.tally != '-' {
				t.Errorf("honest upstream %q: tally %q, want '+' or '-'", l.raw, l.tally)
			}
			if l.stratum != 1 {
				t.Errorf("honest upstream %q: stratum %d", l.raw, l.stratum)
			}
			// The upstream's own refid (chronyd's local clock), not the
			// address gnomon would serve with it as system peer.
			if l.refid == l.remote || l.refid == ".INIT." {
				t.Errorf("honest upstream %q: refid %q, want the server's own", l.raw, l.refid)
			}
		default:
			for _, ms := range liarsMs {
				if abs(l.offsetMs-ms) < 0.1*ms {
					liars[ms] = true
					if l.tally != 'x' {
						t.Errorf("liar %v ms off %q: tally %q, want 'x'", ms, l.raw, l.tally)
					}
					if l.refid != ".PPS." { // testpeer.NTPServer's own
						t.Errorf("liar %v ms off %q: refid %q, want .PPS.", ms, l.raw, l.refid)
					}
				}
			}
		}
	}
	if gps != 1 || good != honest || len(liars) != len(liarsMs) {
		t.Errorf("ntpq -p: %d GPS lines, %d honest upstreams of %d, liars %v of %v:\n%s", gps, good, honest, liars, liarsMs, out)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestUpstreamGPSOutageFallbackAndReturn: the antenna is lost 20 s in for
// 30 s with a 5 s holdover: gnomon falls back to the chronyd upstreams at
// stratum 2 with their root delay and dispersion accumulated, and when the
// GPS returns it serves stratum 1 again without stepping the clock.
func TestUpstreamGPSOutageFallbackAndReturn(t *testing.T) {
	args := append(chronydUpstreams(t, 3), "--sim-gps-outage-after", "20s", "--sim-gps-outage-for", "30s",
		"--refclock-holdover", "5s")
	p := startSim(t, args...)
	w := watch(t, p)
	first := w.until(t, p, lockDeadline, "stratum 1 PPS", func(s served) bool { return s.stratum == 1 && s.refID == "PPS" })
	fallback := w.until(t, p, 45*time.Second, "stratum 2 after the outage", func(s served) bool {
		return s.at > first.at && s.stratum == 2 && s.leap == ntp.LeapNoWarning
	})
	back := w.until(t, p, 50*time.Second, "stratum 1 again", func(s served) bool {
		return s.at > fallback.at && s.stratum == 1 && s.refID == "PPS"
	})
	time.Sleep(5 * time.Second)
	w.end()
	a := w.answers()
	t.Logf("stratum 1 at %.1f s, stratum 2 at %.1f s (root delay %v, dispersion %v), stratum 1 again at %.1f s; worst synchronised offset %v\nstratum over time: %s\n%s",
		first.at.Seconds(), fallback.at.Seconds(), fallback.rootDelay, fallback.rootDispersion, back.at.Seconds(),
		worstSynced(a), strata(a), table(a))
	var fell []served
	for _, s := range a {
		if s.at >= fallback.at && s.at < back.at && s.stratum == 2 {
			fell = append(fell, s)
		}
	}
	for _, s := range fell {
		if s.refID != "127.0.0.1" && !strings.HasPrefix(s.refID, "127.") {
			t.Errorf("stratum 2 answer %v does not name a chronyd upstream (127.0.0.1) as its reference", s)
		}
		if s.rootDelay <= 0 || s.rootDispersion <= 0 {
			t.Errorf("stratum 2 answer %v: root delay and dispersion not accumulated from the upstream", s)
		}
	}
	for _, s := range a {
		if s.at >= first.at && s.offset.Abs() > 2*time.Millisecond {
			t.Errorf("served %v after the first lock", s)
		}
	}
	checkOneStartupStep(t, p)
	checkNoFalseAlarm(t, p)
}

// checkNoFalseAlarm fails the test if any source was called a falseticker
// or the selection raised an alarm: with honest sources only (a lost GPS
// is silent, not wrong), start-up included.
func checkNoFalseAlarm(t *testing.T, p *proc) {
	t.Helper()
	for _, l := range strings.Split(p.Log(), "\n") {
		if strings.Contains(l, `msg="source is a falseticker`) || strings.Contains(l, `msg="selection alarm"`) {
			t.Errorf("false alarm among honest sources: %s", l)
		}
	}
}

// TestUpstreamGPSStartsLying: the simulated receiver starts lying mid-run,
// with three chronyd upstreams, 300 ms ahead (its pulses move) or 1 s ahead
// (its pulses stay on true seconds, its sentences name the next one).
// Either way the Locker first keeps its own pulse count and refuses the
// sentences (RelockAfter, 60 s: pulses it cannot number give no sample,
// and the clock holds over), then adopts the receiver's numbering, which
// the selection marks a falseticker: gnomon then serves stratum 2 from the
// upstreams. The clock is never stepped toward the lie and what is served
// stays within a millisecond of true time.
func TestUpstreamGPSStartsLying(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        time.Duration
		after      time.Duration
		rejectWait time.Duration
	}{
		{"phase 300ms", 300 * time.Millisecond, 15 * time.Second, 90 * time.Second},
		{"second 1s", time.Second, 15 * time.Second, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(chronydUpstreams(t, 3), "--sim-gps-error", tc.err.String(), "--sim-gps-error-after", tc.after.String())
			p := startSim(t, args...)
			started := time.Now()
			w := watch(t, p)
			w.until(t, p, tc.after, "stratum 1 PPS", func(s served) bool { return s.stratum == 1 && s.refID == "PPS" })
			// The GPS may be a falseticker for a moment at start-up (its
			// first sample against the upstreams' before the step): only
			// what follows the lie counts.
			time.Sleep(time.Until(started.Add(tc.after)))
			before := len(p.Log())
			deadline := time.Now().Add(tc.rejectWait)
			var rejected time.Duration
			for time.Now().Before(deadline) && rejected == 0 {
				if strings.Contains(p.Log()[before:], `falseticker: it disagrees with the others and is not used" part=discipline source=GPS`) {
					rejected = time.Since(started) - tc.after
				}
				time.Sleep(100 * time.Millisecond)
			}
			if rejected == 0 {
				t.Fatalf("the lying GPS was not marked a falseticker within %v\n%s\n%s", tc.rejectWait, table(w.answers()), p.Log())
			}
			now := time.Since(w.start)
			w.until(t, p, 15*time.Second, "stratum 2 after the lie", func(s served) bool { return s.at > now && s.stratum == 2 })
			time.Sleep(5 * time.Second)
			w.end()
			a := w.answers()
			t.Logf("GPS %v off from %v: falseticker %v later; worst synchronised offset %v; stratum over time: %s\n%s",
				tc.err, tc.after, rejected.Round(100*time.Millisecond), worstSynced(a), strata(a), table(a))
			if rejected > 5*time.Minute {
				t.Errorf("rejected %v after the lie, want within 5 minutes", rejected)
			}
			if worst := worstSynced(a); worst > 2*time.Millisecond {
				t.Errorf("served %v off true time while the GPS lied", worst)
			}
			checkOneStartupStep(t, p)
		})
	}
}

// TestUpstreamChronydWrongGPS: with three chronyd upstreams, a GPS rolled
// over by 1024 weeks has its date corrected by the NMEA reader (it then
// agrees with the upstreams and is served at stratum 1), and one spoofed
// 1 s ahead is refused: gnomon serves the upstreams' time at stratum 2,
// never stratum 1. Neither ever steps the clock toward the GPS's time, and
// what is served stays within a millisecond of true time.
func TestUpstreamChronydWrongGPS(t *testing.T) {
	for _, tc := range []struct {
		name, err string
		stratum   uint8
		from      string
	}{
		{"rollover corrected", "-619315200s", 1, ""}, // 1024 weeks back
		{"spoof refused", "1s", 2, "upstreams"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(chronydUpstreams(t, 3), "--sim-gps-error", tc.err)
			p := startSim(t, args...)
			w := watch(t, p)
			got := w.until(t, p, 75*time.Second, fmt.Sprintf("stratum %d within 1 ms", tc.stratum), func(s served) bool {
				return s.stratum == tc.stratum && s.leap == ntp.LeapNoWarning && s.offset.Abs() < time.Millisecond
			})
			time.Sleep(10 * time.Second)
			w.end()
			a := w.answers()
			t.Logf("GPS off by %s: stratum %d at %.1f s; worst synchronised offset %v; stratum over time: %s\n%s",
				tc.err, tc.stratum, got.at.Seconds(), worstSynced(a), strata(a), table(a))
			for _, s := range a {
				if s.at >= got.at && s.stratum != tc.stratum {
					t.Errorf("served %v after settling at stratum %d", s, tc.stratum)
				}
			}
			if worst := worstSynced(a); worst > 2*time.Millisecond {
				t.Errorf("served %v off true time", worst)
			}
			from, src := firstTime(t, p)
			t.Logf("first time taken from %s (%s)", from, src)
			if tc.from != "" && from != tc.from {
				t.Errorf("first time from %q (%s), want the %s", from, src, tc.from)
			}
			if tc.stratum == 2 {
				log := p.Log()
				if !strings.Contains(log, `falseticker: it disagrees with the others and is not used" part=discipline source=GPS`) {
					t.Errorf("the spoofed GPS was not marked a falseticker:\n%s", log)
				}
			}
			checkOneStartupStep(t, p)
		})
	}
}

// TestSimFirstTimeWithoutUpstreams: with no upstream servers the log says
// the first time came from the GPS with none configured.
func TestSimFirstTimeWithoutUpstreams(t *testing.T) {
	p := startSim(t)
	deadline := time.Now().Add(lockDeadline)
	for !strings.Contains(p.Log(), `msg="first time taken"`) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if from, src := firstTime(t, p); from != "GPS, no upstreams configured" || src != "GPS" {
		t.Errorf("first time from %q (%s)", from, src)
	}
}

// TestUpstreamBarePPSNumberedFromNTP: a bare PPS wire (--sim-no-nmea, no
// sentences at all) with three chronyd upstreams: each pulse is numbered
// from the upstreams' time, and gnomon serves stratum 1, refid PPS, within
// a millisecond of true time.
func TestUpstreamBarePPSNumberedFromNTP(t *testing.T) {
	args := append(chronydUpstreams(t, 3), "--sim-no-nmea")
	p := startSim(t, args...)
	w := watch(t, p)
	got := w.until(t, p, lockDeadline, "stratum 1 PPS within 1 ms", func(s served) bool {
		return s.stratum == 1 && s.refID == "PPS" && s.leap == ntp.LeapNoWarning && s.offset.Abs() < time.Millisecond
	})
	time.Sleep(10 * time.Second)
	w.end()
	a := w.answers()
	t.Logf("bare PPS numbered from NTP: stratum 1 / PPS at %.1f s; worst synchronised offset %v; stratum over time: %s\n%s",
		got.at.Seconds(), worstSynced(a), strata(a), table(a))
	for _, s := range a {
		if s.at >= got.at && (s.stratum != 1 || s.refID != "PPS") {
			t.Errorf("served %v after the PPS lock", s)
		}
	}
	if worst := worstSynced(a); worst > time.Millisecond {
		t.Errorf("served %v off true time", worst)
	}
	log := p.Log()
	for _, want := range []string{`msg="pps numbered from NTP time`, `msg="refclock samples" part=refclock refid=PPS`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s\n%s", want, log)
		}
	}
	if strings.Contains(log, "pps locked to nmea") {
		t.Errorf("pulses locked to NMEA on a wire without it\n%s", log)
	}
	checkOneStartupStep(t, p)
	checkNoFalseAlarm(t, p)
}

// TestSimBarePPSWithoutUpstreams: a bare PPS wire and no upstream to
// number it from: nothing is numbered and nothing served as synchronised.
func TestSimBarePPSWithoutUpstreams(t *testing.T) {
	p := startSim(t, "--sim-no-nmea")
	w := watch(t, p)
	time.Sleep(15 * time.Second)
	w.end()
	a := w.answers()
	if len(a) < 4 {
		t.Fatalf("%d answers in 15 s\n%s", len(a), p.Log())
	}
	for _, s := range a {
		if s.stratum != 16 || s.leap != ntp.LeapNotInSync {
			t.Errorf("served %v from pulses nobody numbered\n%s", s, p.Log())
		}
	}
}

// TestPoolMonitorPatternNotLimited: the NTP pool's monitors each send three
// queries 2 s apart, from several addresses at once; under the default rate
// limits every query is answered, none kissed (RATE) or dropped.
func TestPoolMonitorPatternNotLimited(t *testing.T) {
	p := startSim(t)
	host, port := p.hostPort(t)
	monitors := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for _, m := range monitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 2; round++ {
				for k := 0; k < 3; k++ {
					r, err := ntp.QueryWithOptions(host, ntp.QueryOptions{Port: port, LocalAddress: m, Timeout: 2 * time.Second})
					switch {
					case err != nil:
						errs <- fmt.Sprintf("monitor %s round %d query %d: %v", m, round, k+1, err)
					case r.Stratum == 0:
						errs <- fmt.Sprintf("monitor %s round %d query %d: kissed %s", m, round, k+1, r.KissCode)
					}
					time.Sleep(2 * time.Second)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("%d monitors x 2 rounds x 3 queries 2 s apart: all answered", len(monitors))
}
