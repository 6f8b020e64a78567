package discsim

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntpclient"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// The bounds here are loose on purpose: the figures are printed by
// `gnomon sim --all` (BENCHMARKS.md, upstream scenarios).

func usim(t *testing.T, name string, seed uint64) (UResult, *UTrace) {
	t.Helper()
	sc, ok := LookupUpstream(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	r, tr, err := SimulateUpstream(sc, seed)
	if err != nil {
		t.Fatal(err)
	}
	return r, tr
}

var useeds = []uint64{1, 2, 3}

// A spoofed (jumped), rolled-over or wrong-second GPS is marked a
// falseticker within 5 minutes of its fault, never steps the clock, and the
// served time stays within 5 ms of the truth (the upstreams' own error)
// while the upstreams serve at stratum 2.
func TestLyingGPSRejected(t *testing.T) {
	for _, name := range []string{"U3", "U4", "U6", "U7", "U8"} {
		for _, seed := range useeds {
			r, tr := usim(t, name, seed)
			if r.RejectS < 0 || r.RejectS > 300 {
				t.Errorf("%s seed %d: rejected after %v s", name, seed, r.RejectS)
			}
			if r.Steps != 0 {
				t.Errorf("%s seed %d: %d steps", name, seed, r.Steps)
			}
			if r.WorstS > 5e-3 {
				t.Errorf("%s seed %d: worst offset %.3g s", name, seed, r.WorstS)
			}
			if r.BadUsed != 0 {
				t.Errorf("%s seed %d: %d lying GPS samples used", name, seed, r.BadUsed)
			}
			sc, _ := LookupUpstream(name)
			// During the fault, once rejected, the upstreams serve at
			// stratum 2 (after their next sample).
			at := int(sc.FaultAt + r.RejectS + 1100)
			if sc.FaultEnd > 0 {
				at = min(at, int(sc.FaultEnd)-1)
			}
			if tr.Stratum[at] != 2 || tr.GPS[at] != selection.StateFalseticker {
				t.Errorf("%s seed %d: at %d s stratum %d, GPS %v", name, seed, at, tr.Stratum[at], tr.GPS[at])
			}
		}
	}
	// The wrong second ends: the GPS is system peer at stratum 1 again.
	for _, seed := range useeds {
		r, tr := usim(t, "U8", seed)
		if n := len(tr.Stratum) - 1; tr.Stratum[n] != 1 || tr.Peer[n] != source.RefclockID {
			t.Errorf("U8 seed %d: at the end stratum %d peer %q (%s)", seed, tr.Stratum[n], tr.Peer[n], r.Strata)
		}
	}
}

// A rolled-over date the parser's pivot corrects changes nothing: the GPS
// serves at stratum 1 throughout.
func TestRolloverCorrected(t *testing.T) {
	for _, seed := range useeds {
		r, _ := usim(t, "U5", seed)
		if r.Rollover == 0 || r.GPSWrongS != 0 || r.Steps != 0 || r.WorstS > 10e-6 {
			t.Errorf("seed %d: %+v", seed, r)
		}
		if strings.Count(r.Strata, "@") != 2 || !strings.HasPrefix(r.Strata, "16@0s 1@") {
			t.Errorf("seed %d: strata %s", seed, r.Strata)
		}
	}
}

// A slow drag is rejected once a majority of the upstreams is further
// than the disagreement bound (10 ms) from the GPS: within 20 minutes at
// 10 µs/s and 10 at 50 µs/s, never with a step, with the served time
// dragged no more than the bound and one poll's drag beyond it until
// then. After the rejection the servo still holds the dragged frequency
// and the upstreams pull it back slowly (open): the worst over the whole
// run is bounded only loosely, and the root dispersion served covers it.
func TestDragRejected(t *testing.T) {
	for _, c := range []struct {
		name             string
		within           float64
		maxToX, maxWorst float64
	}{{"U1", 1200, 20e-3, 60e-3}, {"U2", 600, 20e-3, 250e-3}} {
		for _, seed := range useeds {
			r, _ := usim(t, c.name, seed)
			if r.RejectS < 0 || r.RejectS > c.within || r.Steps != 0 || r.WorstToRejectS > c.maxToX || r.WorstS > c.maxWorst || r.MaxRootDispS < r.WorstS {
				t.Errorf("%s seed %d: reject %v s, steps %d, worst %.3g s (%.3g s to the rejection), root dispersion %.3g s",
					c.name, seed, r.RejectS, r.Steps, r.WorstS, r.WorstToRejectS, r.MaxRootDispS)
			}
		}
	}
}

// The antenna lost for 6 h: holdover on the GPS for the hour, then the
// upstreams at stratum 2, and stratum 1 again when it returns, without a
// step.
func TestOutageFallsBackAndReturns(t *testing.T) {
	sc, _ := LookupUpstream("U9")
	for _, seed := range useeds {
		r, tr := usim(t, "U9", seed)
		if r.Steps != 0 {
			t.Errorf("seed %d: %d steps", seed, r.Steps)
		}
		if r.RejectS < 3600 || r.RejectS > 3600+1100 {
			t.Errorf("seed %d: stratum 2 after %v s of outage", seed, r.RejectS)
		}
		mid := int(sc.FaultAt+sc.FaultEnd) / 2
		if tr.Stratum[mid] != 2 || tr.Peer[mid] == source.RefclockID || tr.Peer[mid] == "" {
			t.Errorf("seed %d: mid-outage stratum %d peer %q", seed, tr.Stratum[mid], tr.Peer[mid])
		}
		back := int(sc.FaultEnd) + 120
		if tr.Stratum[back] != 1 || tr.Peer[back] != source.RefclockID {
			t.Errorf("seed %d: 2 min after the return stratum %d peer %q", seed, tr.Stratum[back], tr.Peer[back])
		}
		if r.WorstS > 5e-3 {
			t.Errorf("seed %d: worst %.3g s", seed, r.WorstS)
		}
		if end := tr.Offset[len(tr.Offset)-1]; end > 10e-6 || end < -10e-6 {
			t.Errorf("seed %d: %.3g s off at the end", seed, end)
		}
	}
}

// Falsetickers among 4-7 upstreams: never the system peer once started,
// every liar marked x, the GPS serving at stratum 1 within microseconds.
func TestFalsetickersNeverSelected(t *testing.T) {
	for _, name := range []string{"U10", "U11", "U12", "U13", "U14"} {
		for _, seed := range useeds {
			r, tr := usim(t, name, seed)
			if r.LiarPeerS != 0 || !r.LiarsFalseAtEnd || r.GPSWrongS != 0 || r.RejectS < 0 {
				t.Errorf("%s seed %d: liar peer %d s, liars x at end %v, GPS wrongly x %d s, reject %v",
					name, seed, r.LiarPeerS, r.LiarsFalseAtEnd, r.GPSWrongS, r.RejectS)
			}
			if r.Steps != 0 || r.WorstS > 10e-6 {
				t.Errorf("%s seed %d: steps %d, worst %.3g s", name, seed, r.Steps, r.WorstS)
			}
			for k := 600; k < len(tr.Peer); k++ {
				if tr.Peer[k] != source.RefclockID || tr.Stratum[k] != 1 {
					t.Errorf("%s seed %d: at %d s peer %q stratum %d", name, seed, k, tr.Peer[k], tr.Stratum[k])
					break
				}
			}
		}
	}
}

// Every upstream lost: the GPS keeps serving at stratum 1. With the GPS
// lost too: stratum 1 in holdover with a growing root dispersion, then
// unsynchronised (stratum 16) after the discipline's UnsyncAfter.
func TestUpstreamsLost(t *testing.T) {
	for _, seed := range useeds {
		r, tr := usim(t, "U15", seed)
		if n := len(tr.Stratum) - 1; tr.Stratum[n] != 1 || tr.Peer[n] != source.RefclockID || r.WorstS > 10e-6 {
			t.Errorf("U15 seed %d: stratum %d peer %q worst %.3g", seed, tr.Stratum[n], tr.Peer[n], r.WorstS)
		}
		r, tr = usim(t, "U16", seed)
		if r.RejectS < 7000 || r.RejectS > 7300 || tr.Stratum[len(tr.Stratum)-1] != 16 {
			t.Errorf("U16 seed %d: unsynchronised after %v s (%s)", seed, r.RejectS, r.Strata)
		}
		// 15 µs/s over the two hours of holdover, at least.
		if r.MaxRootDispS < 0.1 || r.Steps != 0 {
			t.Errorf("U16 seed %d: root dispersion reached %.3g s, steps %d", seed, r.MaxRootDispS, r.Steps)
		}
	}
}

// The simulated exchange is what ntpclient checks: a reply echoes the
// request's transmit timestamp, and the offset it yields is the server's
// offset plus half the path asymmetry.
func TestSimulatedExchange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	srv := Server{Offset: 300 * time.Microsecond, Stratum: 1, Out: 6 * time.Millisecond, Back: 4 * time.Millisecond}
	ta := baseStart
	ex := send(rng, srv, 0, 6, ta, ta, 0, 0)
	m, err := ex.receive(ex.at, 0, ntpclient.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Offset + (srv.Out-srv.Back)/2
	if d := m.Offset - want; d > time.Microsecond || d < -time.Microsecond {
		t.Errorf("offset %v, want %v", m.Offset, want)
	}
	if d := m.Delay - (srv.Out + srv.Back); d > time.Microsecond || d < -time.Microsecond {
		t.Errorf("delay %v", m.Delay)
	}
	if _, err := ex.receive(ex.at, 1, ntpclient.DefaultLimits()); err == nil {
		t.Error("an exchange across a step was accepted")
	}
	srv.Loss = 1
	if _, err := send(rng, srv, 0, 6, ta, ta, 0, 0).receive(ta.Add(time.Second), 0, ntpclient.DefaultLimits()); err == nil {
		t.Error("a lost reply gave a measurement")
	}
}

// The sentences the simulated receiver sends parse, with the date it names.
func TestRMC(t *testing.T) {
	p := refclock.NewParser(refclock.DefaultNMEAConfig())
	at := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	m, ok := p.Line(rmc(at), at)
	if !ok || !m.UTC.Equal(at) || !m.Valid {
		t.Fatalf("%+v %v", m, ok)
	}
	m, ok = p.Line(rmc(at.Add(time.Second-source.GPSEra)), at.Add(time.Second))
	if !ok || !m.UTC.Equal(at.Add(time.Second)) {
		t.Fatalf("rolled-over date not corrected: %+v %v", m, ok)
	}
}

// `gnomon sim U3` prints the upstream table.
func TestUpstreamMain(t *testing.T) {
	var b bytes.Buffer
	if err := Main([]string{"U3", "--seed", "2"}, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "U3      2") || !strings.Contains(b.String(), "stratum served") {
		t.Fatalf("output:\n%s", b.String())
	}
}
