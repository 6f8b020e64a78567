package discsim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/source"
)

// GPSFault is what goes wrong with the simulated GPS receiver, from
// UScenario.FaultAt to FaultEnd.
type GPSFault struct {
	// DragPerS walks the pulses (and the seconds they begin) away from true
	// time at this many seconds per second: a slow spoof.
	DragPerS float64
	// Jump shifts the pulses (and their seconds) by this much at once: a
	// sudden spoof (|Jump| < 0.5 s; whole seconds go in LabelShift).
	Jump time.Duration
	// LabelShift moves the time the sentences name (whole seconds: a
	// spoofer's +1 s, a receiver naming the wrong second, or -GPSEra for a
	// week-number rollover); the pulses stay on the true seconds.
	LabelShift time.Duration
	// Outage: no pulses and no sentences (the antenna lost).
	Outage bool
	// StalePivot runs the NMEA parser with a pivot of 2000 (a stale build
	// date), so a date rolled back 1024 weeks is not corrected by it and is
	// left to the selection and the plausibility gate.
	StalePivot bool
}

// UScenario is one upstream scenario: the GPS refclock and simulated
// upstream NTP servers, through the real Pipeline, ntpclient Peer,
// selection and Loop.
type UScenario struct {
	// Name is U1..; What says what it exercises.
	Name, What string
	// Hours is the run length.
	Hours float64
	// Seeds are the seeds --all runs.
	Seeds []uint64
	// Honest and Liars are the numbers of honest servers and liars; the
	// liars' offsets are LiarOffsets (cycled).
	Honest, Liars int
	LiarOffsets   []time.Duration
	// FaultAt..FaultEnd (seconds; FaultEnd 0: the end of the run) is when
	// GPS is faulty.
	FaultAt, FaultEnd float64
	GPS               GPSFault
	// UpstreamsDownAt (seconds, 0: never) is when every upstream stops
	// answering for good.
	UpstreamsDownAt float64
}

// uSeeds are the seeds of every upstream scenario.
var uSeeds = []uint64{1, 2, 3}

// UpstreamScenarios returns every upstream scenario by name.
func UpstreamScenarios() map[string]UScenario {
	m := map[string]UScenario{}
	add := func(s UScenario) {
		if s.Hours == 0 {
			s.Hours = 2
		}
		if s.Honest == 0 {
			s.Honest = 5
		}
		s.Seeds = uSeeds
		m[s.Name] = s
	}
	add(UScenario{Name: "U1", What: "spoofed GPS, slow drag: 10 µs/s away from true time from 1800 s", FaultAt: 1800,
		GPS: GPSFault{DragPerS: 10e-6}})
	add(UScenario{Name: "U2", What: "spoofed GPS, slow drag: 50 µs/s away from true time from 1800 s", FaultAt: 1800,
		GPS: GPSFault{DragPerS: 50e-6}})
	add(UScenario{Name: "U3", What: "spoofed GPS, sudden jump: +100 ms at 1800 s", FaultAt: 1800,
		GPS: GPSFault{Jump: 100 * time.Millisecond}})
	add(UScenario{Name: "U4", What: "spoofed GPS, sudden jump: +1 s at 1800 s", FaultAt: 1800,
		GPS: GPSFault{LabelShift: time.Second}})
	add(UScenario{Name: "U5", What: "GPS date rolled back 1024 weeks from the start (the NMEA pivot corrects it)",
		GPS: GPSFault{LabelShift: -source.GPSEra}})
	add(UScenario{Name: "U6", What: "GPS date rolled back 1024 weeks from the start, parser pivot stale (2000): not corrected",
		GPS: GPSFault{LabelShift: -source.GPSEra, StalePivot: true}})
	add(UScenario{Name: "U7", What: "GPS date rolls back 1024 weeks at 1800 s, parser pivot stale (2000): not corrected", FaultAt: 1800,
		GPS: GPSFault{LabelShift: -source.GPSEra, StalePivot: true}})
	add(UScenario{Name: "U8", What: "GPS names the previous second (-1 s) for an hour from 1800 s, then the right one", Hours: 2.5,
		FaultAt: 1800, FaultEnd: 5400, GPS: GPSFault{LabelShift: -time.Second}})
	add(UScenario{Name: "U9", What: "antenna lost for 6 h from 1800 s, then back (1 h refclock holdover)", Hours: 7.5,
		FaultAt: 1800, FaultEnd: 1800 + 6*3600, GPS: GPSFault{Outage: true}})
	add(UScenario{Name: "U10", What: "one falseticker (+100 ms) among 4 upstreams", Honest: 3, Liars: 1,
		LiarOffsets: []time.Duration{100 * time.Millisecond}})
	add(UScenario{Name: "U11", What: "one falseticker (+100 ms) among 5 upstreams", Honest: 4, Liars: 1,
		LiarOffsets: []time.Duration{100 * time.Millisecond}})
	add(UScenario{Name: "U12", What: "one falseticker (-1 s) among 7 upstreams", Honest: 6, Liars: 1,
		LiarOffsets: []time.Duration{-time.Second}})
	add(UScenario{Name: "U13", What: "two colluding falsetickers (both +100 ms) among 5 upstreams", Honest: 3, Liars: 2,
		LiarOffsets: []time.Duration{100 * time.Millisecond}})
	add(UScenario{Name: "U14", What: "two falsetickers (+100 ms, -1 s) among 7 upstreams", Honest: 5, Liars: 2,
		LiarOffsets: []time.Duration{100 * time.Millisecond, -time.Second}})
	add(UScenario{Name: "U15", What: "every upstream lost at 1800 s: the GPS keeps serving", UpstreamsDownAt: 1800, FaultAt: 1800})
	add(UScenario{Name: "U16", What: "every upstream and the GPS lost at 1800 s: holdover, then unsynchronised", Hours: 3.5,
		UpstreamsDownAt: 1800, FaultAt: 1800, GPS: GPSFault{Outage: true}})
	return m
}

// UpstreamNames returns the upstream scenario names in order.
func UpstreamNames() []string {
	var n []string
	for k := range UpstreamScenarios() {
		n = append(n, k)
	}
	sort.Slice(n, func(i, j int) bool {
		a, _ := strconv.Atoi(n[i][1:])
		b, _ := strconv.Atoi(n[j][1:])
		return a < b
	})
	return n
}

// LookupUpstream returns the named upstream scenario.
func LookupUpstream(name string) (UScenario, bool) {
	s, ok := UpstreamScenarios()[name]
	return s, ok
}

// servers draws the scenario's servers for seed: the honest ones, then the
// liars (honest paths, lying clocks).
func (sc UScenario) servers(seed uint64) []Server {
	rng := rand.New(rand.NewPCG(seed, 0x7570737472))
	var out []Server
	for range sc.Honest {
		out = append(out, honest(rng))
	}
	for i := range sc.Liars {
		s := honest(rng)
		s.Offset = sc.LiarOffsets[i%len(sc.LiarOffsets)]
		out = append(out, s)
	}
	for i := range out {
		if sc.UpstreamsDownAt > 0 {
			out[i].DownFrom = sc.UpstreamsDownAt
		}
	}
	return out
}

// printUpstreamTable prints the upstream scenarios' figures.
func printUpstreamTable(w io.Writer, rs []UResult) error {
	fmt.Fprintln(w, "Upstream scenarios (BENCHMARKS.md section \"Upstream servers, falsetickers and fallback\"):")
	fmt.Fprintln(w, "reject s: from the fault (U10-U14: the liar's first sample) to the bad source marked x (U9: to stratum 2 served, U16: to stratum 16); worst: max |local - true| from max(fault, 600 s) on (to x: until the rejection);")
	fmt.Fprintln(w, "bad used: samples the selection passed to the loop that were lies (a refclock sample over 1 ms wrong, any liar's); liar peer s: seconds a liar was system peer from 600 s on (before 600 s in parentheses);")
	fmt.Fprintln(w, "GPS x s: seconds from 600 s on the GPS was marked a falseticker while its last sample was true (before 600 s in parentheses); steps: clock steps after the first lock; max rdisp: largest root dispersion served while synchronised.")
	fmt.Fprintf(w, "%-4s %4s %8s %9s %9s %8s %11s %9s %5s %9s  %s\n", "scen", "seed", "reject s", "worst ms", "to x ms", "bad used", "liar peer s", "GPS x s", "steps", "rdisp ms", "stratum served (stratum@s)")
	for _, r := range rs {
		fmt.Fprintf(w, "%-4s %4d %8s %9.3f %9.3f %8d %11s %9s %5d %9.1f  %s\n", r.Scenario, r.Seed, secs2(r.RejectS), r.WorstS*1e3, r.WorstToRejectS*1e3,
			r.BadUsed, fmt.Sprintf("%d (%d)", r.LiarPeerS, r.LiarPeerStartS), fmt.Sprintf("%d (%d)", r.GPSWrongS, r.GPSWrongStartS), r.StepsAfterLock, r.MaxRootDispS*1e3, r.Strata)
	}
	fmt.Fprintln(w)
	for _, n := range uniqueScen(rs) {
		sc, _ := LookupUpstream(n)
		fmt.Fprintf(w, "  %s: %s\n", n, sc.What)
	}
	return nil
}

func secs2(s float64) string {
	switch {
	case s == notApplicable:
		return "-"
	case s < 0:
		return "never"
	}
	return fmt.Sprintf("%.0f", s)
}

func uniqueScen(rs []UResult) []string {
	var out []string
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1] != r.Scenario {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// strataString formats a stratum timeline as "16@0s 1@3s 2@5410s".
func strataString(ch []stratumChange) string {
	var b strings.Builder
	for i, c := range ch {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d@%ds", c.stratum, c.at)
	}
	return b.String()
}

type stratumChange struct {
	stratum uint8
	at      int
}

func allUpstream() []UScenario {
	var out []UScenario
	for _, n := range UpstreamNames() {
		out = append(out, UpstreamScenarios()[n])
	}
	return out
}

// runUpstream runs scs, each with seeds (nil: its own), hours overriding
// their length when > 0, and prints the table or JSON.
func runUpstream(w io.Writer, scs []UScenario, seeds []uint64, hours float64, asJSON bool) error {
	var rs []UResult
	for _, sc := range scs {
		if hours > 0 {
			if hours*3600 <= sc.FaultAt {
				return fmt.Errorf("sim: %s needs more than %.0f s", sc.Name, sc.FaultAt)
			}
			sc.Hours = hours
		}
		ss := seeds
		if ss == nil {
			ss = sc.Seeds
		}
		for _, sd := range ss {
			r, _, err := SimulateUpstream(sc, sd)
			if err != nil {
				return err
			}
			rs = append(rs, r)
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(rs) == 1 {
			return enc.Encode(rs[0])
		}
		return enc.Encode(rs)
	}
	return printUpstreamTable(w, rs)
}
