// Package discsim runs the discipline accuracy scenarios of
// docs/BENCHMARKS.md section 1 over the real refclock and discipline code.
package discsim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/gnomon-ntp/gnomon/discipline"
)

// Main runs `gnomon sim` with args (the words after "sim") and prints to stdout.
func Main(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	scen := fs.String("scenario", "S1", "scenario: "+strings.Join(append(Names(), UpstreamNames()...), ", ")+" (or the name alone: gnomon sim U3)")
	seed := fs.Uint64("seed", 1, "random seed")
	hours := fs.Float64("hours", 0, "run length in hours (0: the scenario's own, 4 h for S1-S11)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	all := fs.Bool("all", false, "run every scenario with seeds 1-3 (make bench-discipline)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 && !*all { // gnomon sim NAME [flags]
		*scen = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim: unexpected arguments %q", fs.Args())
	}
	if u, ok := LookupUpstream(*scen); ok && !*all {
		return runUpstream(stdout, []UScenario{u}, []uint64{*seed}, *hours, *asJSON)
	}
	if *hours < 0 || *hours > 1000 {
		return fmt.Errorf("sim: --hours %v out of range", *hours)
	}
	var runs []Scenario
	var seeds []uint64
	if *all {
		for _, n := range Names() {
			runs = append(runs, Scenarios()[n])
		}
	} else {
		s, err := Lookup(*scen)
		if err != nil {
			return err
		}
		runs, seeds = []Scenario{s}, []uint64{*seed}
	}
	var results []Result
	for _, sc := range runs {
		if *hours > 0 {
			sc.Hours = *hours
		}
		if sc.Hours*3600 < statsFrom+60 {
			return errors.New("sim: runs must last longer than the 1800 s settling time")
		}
		ss := seeds
		if *all {
			ss = sc.Seeds
			if len(ss) == 0 {
				ss = []uint64{1, 2, 3}
			}
		}
		for _, sd := range ss {
			r, _, err := Simulate(sc, sd)
			if err != nil {
				return err
			}
			if sc.Thermal != nil && !sc.Thermal.NoModel {
				// The same run without temperatures: the baseline.
				b, th := sc, *sc.Thermal
				th.NoModel = true
				b.Thermal = &th
				rb, _, err := Simulate(b, sd)
				if err != nil {
					return err
				}
				r.OutageNoModelS = rb.OutageMaxS
			}
			results = append(results, r)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(results) == 1 {
			return enc.Encode(results[0])
		}
		return enc.Encode(results)
	}
	if err := printTable(stdout, results); err != nil || !*all {
		return err
	}
	fmt.Fprintln(stdout)
	return runUpstream(stdout, allUpstream(), nil, 0, false)
}

func us(s float64) string { return fmt.Sprintf("%.3f", s*1e6) }

func secs(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.0f", s)
}

func printTable(w io.Writer, rs []Result) error {
	fmt.Fprintln(w, "Accuracy over t >= 1800 s (offset = local - true at the pulse instants, µs; BENCHMARKS.md section 1).")
	fmt.Fprintln(w, "freq est err: the servo's frequency estimate against the oscillator; rate err: the clock's actual rate over each second, phase slews included (RMS over t >= 1800 s; max from the end of the start-up pull-in on (first lock, then first |offset| < 10 µs), seconds with a step left out).")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scen\tseed\tRMS\tp99\tmax\tmean\tfreq est err ppb\trate err ppb\tmax rate ppm\tfirst<10µs s\tfirst<1µs s\tsteps\tRMS/limit\tRMS/chrony\tmax/chrony\tbar RMS\tnoise est\tW est\t")
	worst := map[string]Result{}
	var order []string
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.2f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.0e\t\n",
			r.Scenario, r.Seed, us(r.RMSOffsetS), us(r.P99OffsetS), us(r.MaxOffsetS), us(r.MeanOffsetS),
			r.RMSFreqPPB, r.RMSRatePPB, r.MaxRatePPM, secs(r.FirstBelow10usS), secs(r.FirstBelow1usS), r.Steps,
			ratio(r.LimitRatio), ratio(r.ChronyRatio), ratio(r.ChronyMaxRatio), bar(r), us(r.NoiseS), r.WanderEst)
		wr, ok := worst[r.Scenario]
		if !ok {
			order = append(order, r.Scenario)
		}
		if !ok || r.RMSOffsetS > wr.RMSOffsetS {
			worst[r.Scenario] = r
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Worst seed per scenario against the bar (RMS <= 1.25x limit, max below chrony's best max, first < 10 µs under 20 s):")
	for _, n := range order {
		if _, ok := bars[n]; !ok {
			continue
		}
		var maxMax, maxFirst float64
		for _, r := range rs {
			if r.Scenario == n {
				maxMax = math.Max(maxMax, r.MaxOffsetS)
				maxFirst = math.Max(maxFirst, r.FirstBelow10usS)
			}
		}
		r := worst[n]
		c := chrony[n]
		fmt.Fprintf(w, "  %s: RMS %s µs (limit %s, bar %s, chrony %s-%s) %s; max %s µs (chrony %s-%s) %s; first<10µs %.0f s (chrony %.0f) %s\n",
			n, us(r.RMSOffsetS), us(c.Limit), us(bars[n]), us(c.RMSLo), us(c.RMSHi), pass(r.RMSOffsetS <= bars[n]),
			us(maxMax), us(c.MaxLo), us(c.MaxHi), pass(maxMax < c.MaxLo), maxFirst, c.First10, pass(maxFirst >= 0 && maxFirst < 20))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Fault scenarios (µs unless noted):")
	for _, r := range rs {
		if line := faultLine(r); line != "" {
			fmt.Fprintf(w, "  %s seed %d: %s\n", r.Scenario, r.Seed, line)
		}
	}
	return nil
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func bar(r Result) string {
	b, ok := bars[r.Scenario]
	if !ok {
		return "-"
	}
	return pass(r.RMSOffsetS <= b)
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func faultLine(r Result) string {
	switch r.Scenario {
	case "S5":
		return fmt.Sprintf("bias (mean local-true) %s, latency estimate %s, RMS %s, max %s (chrony: bias -1.45..-1.69, RMS 1.54-1.80, max 2.9-4.3); bar |bias| < 0.5 %s, max < 10 %s",
			us(r.MeanOffsetS), us(r.LatencyFloorS), us(r.RMSOffsetS), us(r.MaxOffsetS),
			pass(math.Abs(r.MeanOffsetS) < 0.5e-6), pass(r.MaxOffsetS < 10e-6))
	case "S6":
		return fmt.Sprintf("worst drift in the outage %s, ideal (frequency frozen perfectly at the outage start) %s, ratio %.2f (chrony 153/68/234 on seeds 1/2/3); bar <= 1.5x ideal %s; root dispersion at its end %.1f ms; return: under 1 µs %s s after (chrony 13-33), max rate error %.2f ppm in the 60 s after; bar <30 s, rate <= %d ppm + 1, no step %s",
			us(r.OutageMaxS), us(r.OutageFloorS), r.OutageMaxS/math.Max(r.OutageFloorS, 1e-12), pass(r.OutageMaxS <= 1.5*r.OutageFloorS),
			r.OutageRootDispS*1e3, secs(r.OutageRecover1usS), r.ReturnRatePPM, discipline.DefaultMaxPhaseSlewPPM,
			pass(r.OutageRecover1usS >= 0 && r.OutageRecover1usS < 30 && r.Steps == 0 && r.ReturnRatePPM <= discipline.DefaultMaxPhaseSlewPPM+1))
	case "S7":
		return fmt.Sprintf("peak %s at +%.0f s (chrony 30-35 at +31..47), under 10 µs to stay after +%.0f s (chrony +96), first under 1 µs +%s s (chrony +97); bar peak < 20 %s",
			us(r.FaultPeakS), r.FaultPeakAtS, r.FaultSettle10usS, secs(r.FaultFirst1usS), pass(r.FaultPeakS < 20e-6))
	case "S8":
		return fmt.Sprintf("RMS %s, max %s (chrony RMS 0.41-0.44, max 1.6-2.2); bar as S1 (RMS <= 0.26) %s",
			us(r.RMSOffsetS), us(r.MaxOffsetS), pass(r.RMSOffsetS <= 0.26e-6))
	case "S9":
		return fmt.Sprintf("max |offset| from the fault on %s, locker rejected %d sentences, steps %d (chrony ~1.03 s off); bar < 10 µs, no step %s",
			us(r.FaultPeakS), r.LockerDisagree, r.Steps, pass(r.FaultPeakS < 10e-6 && r.Steps == 0))
	case "S10":
		return fmt.Sprintf("first lock at %s s, first < 10 µs at %s s, RMS %s, max %s, steps %d",
			secs(r.FirstLockS), secs(r.FirstBelow10usS), us(r.RMSOffsetS), us(r.MaxOffsetS), r.Steps)
	case "S11":
		return fmt.Sprintf("steps %d, first < 10 µs at %s s, RMS %s, max %s; bar one step %s",
			r.Steps, secs(r.FirstBelow10usS), us(r.RMSOffsetS), us(r.MaxOffsetS), pass(r.Steps == 1))
	case "B1", "B2", "B3", "B4", "B5", "B6":
		return fmt.Sprintf("max %s, RMS %s, p99 %s, filter rejected %d, servo rejected %d; bar max < 10 %s",
			us(r.MaxOffsetS), us(r.RMSOffsetS), us(r.P99OffsetS), r.FilterRejected, r.Rejected, pass(r.MaxOffsetS < 10e-6))
	case "T1", "T2":
		line := fmt.Sprintf("holdover drift (worst |offset| in the 1 h outage) with the learned model %s, without %s, ratio %.1f; bar >= 2 %s; ideal frozen frequency %s",
			us(r.OutageMaxS), us(r.OutageNoModelS), r.OutageNoModelS/math.Max(r.OutageMaxS, 1e-12), pass(r.OutageNoModelS >= 2*r.OutageMaxS), us(r.OutageFloorS))
		if f := r.TempFit; f != nil {
			line += fmt.Sprintf("; fit (lag %.0f s) at %.1f °C: %.1f ± %.1f ppb/°C (truth %.1f), %.2f ± %.2f ppb/°C² (truth %.2f), residual %.0f ppb, span %.1f °C, %d samples, trusted %v",
				f.LagS, f.RefC, f.SlopePPBPerC, f.SlopeSigmaPPBPerC, r.TempTruthSlopePPB, f.CurvePPBPerC2, f.CurveSigmaPPBPerC2, truthCurve(r.Scenario),
				f.ResidualPPB, f.SpanC, f.Samples, f.Trusted)
		}
		return line
	case "L1", "L2":
		return fmt.Sprintf("leaps applied %d (at %+.6f s from midnight), kernel flag armed %s .. %s, served %s .. %s, max |offset| after midnight %s, RMS %s; %s",
			r.LeapsApplied, r.LeapAppliedErrS, r.LeapArmedFrom, r.LeapArmedTo, r.LeapServedFrom, r.LeapServedTo,
			us(r.PostLeapMaxS), us(r.RMSOffsetS), pass(r.LeapsApplied == 1 && r.PostLeapMaxS < 10e-6))
	}
	return ""
}
