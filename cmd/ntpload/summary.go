package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// maxLoss is the loss below which a step counts as served (BENCHMARKS.md
// section 2: "most answers/s with loss < 1%").
const maxLoss = 0.01

// genLimited: a step whose sent rate fell below this share of the offered
// rate was limited by the generator (on loopback its sendmmsg carries the
// kernel's delivery to the server's socket), not by the server.
const genLimited = 0.97

// serverSummary is one server's figures over a benchmark run.
type serverSummary struct {
	name     string
	steps    map[float64]Line // open-loop steps by offered rate
	best     *Line            // the step with the most answers/s at loss < 1%
	ceiling  *Line
	maxRSS   uint64
	hasSteps bool
}

// summarize reads the -json lines of a benchmark run (several servers,
// told apart by -name) and prints the comparison table.
func summarize(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	defer f.Close()
	lines, err := readLines(f)
	if err != nil {
		return fmt.Errorf("summary: %s: %w", path, err)
	}
	return writeSummary(lines, w)
}

func readLines(r io.Reader) ([]Line, error) {
	var ls []Line
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 || sc.Bytes()[0] != '{' {
			continue
		}
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		ls = append(ls, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return ls, nil
}

func summaries(lines []Line) []*serverSummary {
	var order []*serverSummary
	by := map[string]*serverSummary{}
	for _, l := range lines {
		s := by[l.Name]
		if s == nil {
			s = &serverSummary{name: l.Name, steps: map[float64]Line{}}
			by[l.Name] = s
			order = append(order, s)
		}
		s.maxRSS = max(s.maxRSS, l.ServerRSSKiB)
		switch l.Mode {
		case "closed":
			if s.ceiling == nil || l.AnsPerS > s.ceiling.AnsPerS {
				c := l
				s.ceiling = &c
			}
		default:
			s.hasSteps = true
			s.steps[l.Offered] = l
			if l.Loss < maxLoss && (s.best == nil || l.AnsPerS > s.best.AnsPerS) {
				b := l
				s.best = &b
			}
		}
	}
	return order
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func us(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e3) }

// lagCell is a step's transmit-stamp lag, p50/p99/max in µs ("-" if not
// measured).
func lagCell(l *Line) string {
	if l.LagCount == 0 {
		return "-"
	}
	return us(l.LagP50) + "/" + us(l.LagP99) + "/" + us(l.LagMax)
}

// worstLagP99 is the largest lag p99 of s's steps at offered rates up to
// upTo (0: every step) that lost under 1%, and the rate it was at.
func worstLagP99(s *serverSummary, upTo float64) (time.Duration, float64, bool) {
	var worst time.Duration
	var at float64
	found := false
	for r, l := range s.steps {
		if upTo > 0 && r > upTo || l.Loss >= maxLoss || l.LagCount == 0 {
			continue
		}
		if !found || l.LagP99 > worst {
			worst, at, found = l.LagP99, r, true
		}
	}
	return worst, at, found
}

// cpuPerAnswer is the server's CPU time per answer in µs (0 if unknown).
func cpuPerAnswer(l *Line) float64 {
	if l == nil || l.AnsPerS <= 0 || l.ServerCPU <= 0 {
		return 0
	}
	return l.ServerCPU / l.AnsPerS * 1e6
}

func writeSummary(lines []Line, w io.Writer) error {
	ss := summaries(lines)
	if len(ss) == 0 {
		return fmt.Errorf("summary: no results")
	}
	var rates []float64
	for _, s := range ss {
		for r := range s.steps {
			if !slices.Contains(rates, r) {
				rates = append(rates, r)
			}
		}
	}
	slices.Sort(rates)
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }

	limited := false
	p("Per offered rate (answers/s, loss, p50/p99 latency, server CPU, transmit-stamp lag p50/p99/max in µs):\n")
	p("%10s", "offered/s")
	for _, s := range ss {
		p(" | %-76s", s.name)
	}
	p("\n")
	for _, r := range rates {
		p("%10.0f", r)
		for _, s := range ss {
			l, ok := s.steps[r]
			if !ok {
				p(" | %-76s", "-")
				continue
			}
			mark := ' '
			if l.SentPerS < genLimited*l.Offered {
				mark = '!'
				limited = true
			}
			p(" | %8.0f/s %6.2f%% %9s/%9s %5.1f%%%c %-23s", l.AnsPerS, 100*l.Loss, ms(l.P50), ms(l.P99), 100*l.ServerCPU, mark, lagCell(&l))
		}
		p("\n")
	}
	if limited {
		p("! the generator sent less than %.0f%% of the offered rate: that step measures the generator, not the server\n", 100*genLimited)
	}
	p("\nSummary:\n")
	p("%-10s %14s %22s %10s %12s %14s %12s %10s\n", "server", "answers/s<1%", "p50 / p99 there", "cpu there", "cpu/answer", "ceiling", "cpu at ceil", "max RSS")
	for _, s := range ss {
		best, bestLat, bestCPU, cpa := "none", "-", "-", "-"
		if s.best != nil {
			best = fmt.Sprintf("%.0f", s.best.AnsPerS)
			bestLat = ms(s.best.P50) + " / " + ms(s.best.P99)
			bestCPU = fmt.Sprintf("%.1f%%", 100*s.best.ServerCPU)
			if c := cpuPerAnswer(s.best); c > 0 {
				cpa = fmt.Sprintf("%.2f µs", c)
			}
		} else if !s.hasSteps {
			best = "-"
		}
		ceil, ceilCPU := "-", "-"
		if s.ceiling != nil {
			ceil = fmt.Sprintf("%.0f/s", s.ceiling.AnsPerS)
			ceilCPU = fmt.Sprintf("%.1f%%", 100*s.ceiling.ServerCPU)
		}
		rss := "-"
		if s.maxRSS > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(s.maxRSS)/1024)
		}
		p("%-10s %14s %22s %10s %12s %14s %12s %10s\n", s.name, best, bestLat, bestCPU, cpa, ceil, ceilCPU, rss)
	}
	if len(ss) >= 2 {
		a, b := ss[len(ss)-1], ss[0] // e.g. gnomon / chronyd, in the order they were run
		p("\nRatio %s/%s:", a.name, b.name)
		if a.best != nil && b.best != nil && b.best.AnsPerS > 0 {
			p(" answers/s at <1%% loss %.2fx;", a.best.AnsPerS/b.best.AnsPerS)
		} else {
			p(" answers/s at <1%% loss n/a;")
		}
		if a.ceiling != nil && b.ceiling != nil && b.ceiling.AnsPerS > 0 {
			p(" ceiling %.2fx", a.ceiling.AnsPerS/b.ceiling.AnsPerS)
		} else {
			p(" ceiling n/a")
		}
		if b.best != nil {
			if l, ok := a.steps[b.best.Offered]; ok {
				p("; p99 at %.0f/s (%s's best): %s vs %s", b.best.Offered, b.name, ms(l.P99), ms(b.best.P99))
			}
		}
		p("\n")
		upTo := 0.0
		if b.best != nil {
			upTo = b.best.Offered
		}
		for _, x := range []*serverSummary{a, b} {
			if w, at, ok := worstLagP99(x, upTo); ok {
				p("Transmit-stamp lag of %s, worst p99 at <1%% loss up to %.0f/s: %s µs (at %.0f/s)\n", x.name, upTo, us(w), at)
			}
		}
		if kod := totalKoD(a); kod > 0 {
			p("NOTE: %s sent %d kiss-o'-death replies: its rate limiting was on during the benchmark.\n", a.name, kod)
		}
	}
	return nil
}

func totalKoD(s *serverSummary) uint64 {
	var n uint64
	for _, l := range s.steps {
		n += l.KoD
	}
	if s.ceiling != nil {
		n += s.ceiling.KoD
	}
	return n
}
