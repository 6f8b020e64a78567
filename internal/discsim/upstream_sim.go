package discsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntpclient"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// notApplicable marks a figure a scenario has no use for.
const notApplicable = -2

// UResult holds one upstream run's figures. Offsets are local - true.
type UResult struct {
	// Scenario, Seed and Hours identify the run.
	Scenario string  `json:"scenario"`
	Seed     uint64  `json:"seed"`
	Hours    float64 `json:"hours"`
	// RejectS is the time from the fault to the bad source's first
	// falseticker mark (U9: to stratum 2 served; U16: to stratum 16; -1:
	// never; -2: not applicable).
	RejectS float64 `json:"reject_s"`
	// WorstS is the largest |local - true| from max(FaultAt, 600 s) on.
	WorstS float64 `json:"worst_offset_s"`
	// WorstToRejectS is WorstS up to the bad source's rejection (all of
	// the run where nothing is rejected): what the fault itself cost,
	// apart from what follows it.
	WorstToRejectS float64 `json:"worst_to_reject_s"`
	// BadUsed counts samples of a source lying by over 1 ms (the GPS in
	// its fault, a lying upstream) that the selection passed to the loop
	// (the loop's plausibility gate may still refuse them).
	BadUsed int `json:"bad_samples_used"`
	// LiarPeerS counts the seconds from 600 s on a lying upstream was the
	// system peer; LiarPeerStartS those before (the start-up, while the
	// clock is still slewed in and the upstreams' filters hold samples
	// taken before).
	LiarPeerS      int `json:"liar_peer_s"`
	LiarPeerStartS int `json:"liar_peer_start_s"`
	// GPSWrongS counts the seconds from 600 s on the GPS was marked a
	// falseticker while its last sample was true (GPSWrongStartS before).
	GPSWrongS      int `json:"gps_wrongly_falseticker_s"`
	GPSWrongStartS int `json:"gps_wrongly_falseticker_start_s"`
	// Steps counts every step; StepsAfterLock those after the first lock.
	Steps          int `json:"steps"`
	StepsAfterLock int `json:"steps_after_lock"`
	// Refused counts samples the loop's plausibility gate refused.
	Refused uint64 `json:"refused"`
	// Strata is the served stratum over time ("16@0s 1@3s 2@5410s").
	Strata string `json:"strata"`
	// MaxRootDispS is the largest root dispersion served while synchronised
	// (grown with the age of the reference time, as a client sees it).
	MaxRootDispS float64 `json:"max_root_dispersion_s"`
	// GPSFalseS counts the seconds the GPS was marked a falseticker;
	// LiarsFalseAtEnd whether every liar was marked one at the end.
	GPSFalseS       int  `json:"gps_falseticker_s"`
	LiarsFalseAtEnd bool `json:"liars_falsetickers_at_end"`
	// Rollover counts sentences the NMEA parser moved forward by 1024 weeks.
	Rollover uint64 `json:"nmea_rollover"`
}

// UTrace is the per-second record of an upstream run, for tests.
type UTrace struct {
	// Offset[k] is local - true at second k.
	Offset []float64
	// Stratum[k] is the stratum served after second k (16: unsynchronised).
	Stratum []uint8
	// Peer[k] is the system peer after second k ("" none).
	Peer []source.ID
	// GPS[k] is the refclock's selection state after second k.
	GPS []selection.State
}

// stalePivot is the parser pivot of a stale build (GPSFault.StalePivot).
var stalePivot = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// SimulateUpstream runs upstream scenario sc with seed: a GPS hat (pulses
// and RMC sentences through the real NMEA parser and Pipeline) and the
// scenario's servers (real NTP replies through ntpclient.Check and Peer)
// feed the real selection.Selector and discipline.Loop, on a simulated
// clock, one second at a time.
func SimulateUpstream(sc UScenario, seed uint64) (UResult, *UTrace, error) {
	start := baseStart
	cur := start
	clk := discipline.NewSimClock(discipline.SimClockConfig{
		InitialOffset: 100 * time.Millisecond, FreqPPM: 30, Wander: 1e-9, Seed: seed,
	}, func() time.Time { return cur })
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365))
	netRng := rand.New(rand.NewPCG(seed, 0x6e6574))

	cfg := discipline.DefaultConfig()
	cfg.Plausible = source.NewTimeBounds(0, refclock.DefaultPivot) // the appliance's build-date bound
	loop, err := discipline.NewLoop(cfg, clk, nil)
	if err != nil {
		return UResult{}, nil, err
	}
	rcfg := refclock.DefaultConfig()
	pipe := refclock.NewPipeline(rcfg.Locker, rcfg.Filter, false)
	ncfg := refclock.DefaultNMEAConfig()
	if sc.GPS.StalePivot {
		ncfg.Pivot = stalePivot
	}
	parser := refclock.NewParser(ncfg)
	sel, err := selection.New(selection.DefaultConfig(), source.RefclockID)
	if err != nil {
		return UResult{}, nil, err
	}
	servers := sc.servers(seed)
	peers := make([]*ntpclient.Peer, len(servers))
	ids := make([]source.ID, len(servers))
	liar := map[source.ID]bool{}
	for i, s := range servers {
		ids[i] = source.ID(fmt.Sprintf("ntp%d", i+1))
		if peers[i], err = ntpclient.NewPeer(ids[i], ntpclient.DefaultPeerConfig(), clk.Now()); err != nil {
			return UResult{}, nil, err
		}
		if err := sel.AddUpstream(ids[i], false); err != nil {
			return UResult{}, nil, err
		}
		if s.Liar() {
			liar[ids[i]] = true
		}
	}
	lim := ntpclient.DefaultLimits()

	n := int(sc.Hours * 3600)
	tr := &UTrace{Offset: make([]float64, n+1), Stratum: make([]uint8, n+1),
		Peer: make([]source.ID, n+1), GPS: make([]selection.State, n+1)}
	res := UResult{Scenario: sc.Name, Seed: seed, Hours: sc.Hours, RejectS: -1}
	faulty := func(at float64) bool {
		return at >= sc.FaultAt && (sc.FaultEnd == 0 || at < sc.FaultEnd)
	}
	gpsFaultKind := sc.GPS != (GPSFault{}) && !sc.GPS.Outage
	// gpsErr is the GPS's error (the time it names - true) at the true
	// instant at (seconds from start).
	gpsErr := func(at float64) time.Duration {
		if !faulty(at) {
			return 0
		}
		e := sc.GPS.Jump + sc.GPS.LabelShift + time.Duration(sc.GPS.DragPerS*(at-sc.FaultAt)*1e9)
		if sc.GPS.LabelShift == -source.GPSEra && !sc.GPS.StalePivot {
			e -= sc.GPS.LabelShift // corrected by the parser
		}
		return e
	}
	steps, firstLock := 0, -1
	gpsLying := false // the GPS's last sample was a lie
	// trueOf maps a local reading back to the true instant (two fixed-point
	// iterations on the clock's offset).
	trueOf := func(local time.Time) time.Time {
		t := local.Add(-time.Duration(clk.TrueOffset(cur) * 1e9))
		return local.Add(-time.Duration(clk.TrueOffset(t) * 1e9))
	}
	feed := func(s source.Sample) {
		// A refclock sample is a lie when over 1 ms wrong (a PPS sample;
		// 50 ms for an NMEA-only one).
		lie := liar[s.Source]
		if s.Kind.Refclock() {
			e := s.Offset.Seconds() + clk.TrueOffset(trueOf(s.Local))
			lim := 50e-3
			if s.Kind == source.KindPPS {
				lim = 1e-3
			}
			lie = math.Abs(e) > lim
			gpsLying = lie
		}
		// As discipline.Runner does.
		sel.SetFrequencyLearnt(loop.FrequencyLearnt())
		sel.Slewed(loop.TakeSlewed(clk.Now()))
		r, err := sel.Add(s)
		if err != nil || !r.Use {
			return
		}
		if lie {
			res.BadUsed++
		}
		ev := loop.Update(s, r.Identity)
		if ev.Stepped != 0 {
			steps++
			if firstLock >= 0 {
				res.StepsAfterLock++
			}
			sel.Stepped(ev.Stepped)
			for _, p := range peers {
				p.Stepped(ev.Stepped)
			}
		}
	}
	feedGPS := func(s source.Sample, ok bool, _ refclock.PipelineEvent) {
		if ok {
			feed(s)
		}
	}

	var inflight []exchange
	busy := make([]bool, len(peers))
	var strata []stratumChange
	liarFirst := map[source.ID]float64{}
	liarRejected := map[source.ID]float64{}
	rejectFrom := sc.FaultAt
	worstFrom := math.Max(sc.FaultAt, 600)
	for k := 0; k <= n; k++ {
		tk := start.Add(time.Duration(k) * time.Second)
		fk := float64(k)
		cur = tk
		x := clk.TrueOffset(tk)
		tr.Offset[k] = x
		if fk >= worstFrom {
			res.WorstS = math.Max(res.WorstS, math.Abs(x))
			if res.RejectS < 0 {
				res.WorstToRejectS = math.Max(res.WorstToRejectS, math.Abs(x))
			}
		}
		// Every random draw each second, used or not.
		jit := time.Duration(rng.NormFloat64() * 1e3) // 1 µs
		nmeaD := time.Duration((0.2 + 0.005*rng.NormFloat64()) * 1e9)

		gpsOn := !(sc.GPS.Outage && faulty(fk))
		shift := time.Duration(0)
		label := tk
		if faulty(fk) {
			shift = sc.GPS.Jump + time.Duration(sc.GPS.DragPerS*(fk-sc.FaultAt)*1e9)
			label = tk.Add(sc.GPS.LabelShift)
		}
		// The second's events in true-time order: the pulse at tk+shift, its
		// sentence 0.2 s later, the ticks at tk+0.5 s, each due upstream's
		// request at tk+0.6 s + 10 ms per server, and the replies as they
		// arrive (a reply may land in a later second).
		type event struct {
			at   time.Time
			kind int // 0 pulse, 1 sentence, 2 tick, 3 send, 4 receive
			i    int
		}
		evs := []event{{tk.Add(500 * time.Millisecond), 2, 0}}
		if gpsOn {
			evs = append(evs, event{tk.Add(shift), 0, 0}, event{tk.Add(shift + nmeaD), 1, 0})
		}
		for i := range peers {
			evs = append(evs, event{tk.Add(600*time.Millisecond + time.Duration(i)*10*time.Millisecond), 3, i})
		}
		end := tk.Add(time.Second)
		for {
			// The earliest pending event before the next second.
			bi, bt := -1, end
			for i, e := range evs {
				if e.at.Before(bt) {
					bi, bt = i, e.at
				}
			}
			ri := -1
			for i, ex := range inflight {
				if ex.at.Before(bt) {
					ri, bt = i, ex.at
				}
			}
			if ri >= 0 {
				ex := inflight[ri]
				inflight = append(inflight[:ri], inflight[ri+1:]...)
				cur = ex.at
				t4 := clk.Now()
				m, err := ex.receive(t4, steps, lim)
				p := peers[ex.peer]
				busy[ex.peer] = false
				p.Sent(t4)
				if s, ok := p.Received(m, err, t4); ok {
					if _, seen := liarFirst[s.Source]; !seen && liar[s.Source] {
						liarFirst[s.Source] = fk
					}
					feed(s)
				}
				continue
			}
			if bi < 0 {
				break
			}
			e := evs[bi]
			evs = append(evs[:bi], evs[bi+1:]...)
			cur = e.at
			switch e.kind {
			case 0:
				stamp := clk.At(e.at).Add(jit)
				feedGPS(pipe.AddEdge(pps.Edge{Time: stamp, Seq: uint64(k + 1), Assert: true}))
			case 1:
				if m, ok := parser.Line(rmc(label), clk.Now()); ok {
					feedGPS(pipe.AddTime(m))
				}
			case 2:
				now := clk.Now()
				sel.SetFrequencyLearnt(loop.FrequencyLearnt())
				sel.Slewed(loop.TakeSlewed(now))
				sel.Tick(now)
				loop.Tick(now)
			case 3:
				p := peers[e.i]
				now := clk.Now()
				if busy[e.i] || p.Next().IsZero() || p.Next().After(now) {
					continue
				}
				busy[e.i] = true
				inflight = append(inflight, send(netRng, servers[e.i], e.i, p.PollLog2(), e.at, now, steps, fk))
			}
		}

		// The second's record.
		st := loop.State()
		stratum := uint8(16)
		if st.Synced {
			stratum = st.Stratum
			if firstLock < 0 {
				firstLock = k
			}
			age := clk.Now().Sub(st.RefTime).Seconds()
			res.MaxRootDispS = math.Max(res.MaxRootDispS, st.RootDispersion.Seconds()+st.DispersionRate*age)
		}
		tr.Stratum[k] = stratum
		if len(strata) == 0 || strata[len(strata)-1].stratum != stratum {
			strata = append(strata, stratumChange{stratum, k})
		}
		states := sel.States()
		for _, s := range states {
			if s.State == selection.StateSystemPeer {
				tr.Peer[k] = s.ID
				if liar[s.ID] && fk >= 600 {
					res.LiarPeerS++
				} else if liar[s.ID] {
					res.LiarPeerStartS++
				}
			}
			if s.ID == source.RefclockID {
				tr.GPS[k] = s.State
				if s.State == selection.StateFalseticker && !gpsLying {
					if fk >= 600 {
						res.GPSWrongS++
					} else {
						res.GPSWrongStartS++
					}
				}
				if s.State == selection.StateFalseticker {
					res.GPSFalseS++
					if gpsFaultKind && res.RejectS < 0 && fk >= rejectFrom && gpsErr(fk) != 0 {
						res.RejectS = fk - rejectFrom
					}
				}
			}
			if liar[s.ID] && s.State == selection.StateFalseticker {
				if _, ok := liarRejected[s.ID]; !ok {
					liarRejected[s.ID] = fk
				}
			}
		}
	}

	// Figures.
	res.Strata = strataString(strata)
	cs := clk.Status()
	res.Steps = cs.Steps
	res.Refused = loop.Refused()
	res.Rollover = parser.Stats().Snapshot().Rollover
	switch {
	case sc.Liars > 0:
		res.LiarsFalseAtEnd = true
		worst := 0.0
		for id := range liar {
			if tr := sel.States(); !isFalse(tr, id) {
				res.LiarsFalseAtEnd = false
			}
			r, ok := liarRejected[id]
			if !ok {
				worst = -1
				break
			}
			worst = math.Max(worst, r-liarFirst[id])
		}
		res.RejectS = worst
	case sc.GPS.Outage && sc.UpstreamsDownAt == 0:
		res.RejectS = firstAt(strata, 2, sc.FaultAt)
	case sc.GPS.Outage:
		res.RejectS = firstAt(strata, 16, sc.FaultAt)
	case !gpsFaultKind || gpsErr(sc.FaultAt) == 0 && sc.GPS.DragPerS == 0:
		res.RejectS = notApplicable
	}
	return res, tr, nil
}

func isFalse(st []selection.SourceState, id source.ID) bool {
	for _, s := range st {
		if s.ID == id {
			return s.State == selection.StateFalseticker
		}
	}
	return false
}

// firstAt returns the seconds from from to the first change to stratum at
// or after it (-1: never).
func firstAt(ch []stratumChange, stratum uint8, from float64) float64 {
	for _, c := range ch {
		if c.stratum == stratum && float64(c.at) >= from {
			return float64(c.at) - from
		}
	}
	return -1
}

// rmc formats the RMC sentence a receiver sends naming the second label.
func rmc(label time.Time) string {
	body := fmt.Sprintf("GPRMC,%02d%02d%02d.00,A,5230.0000,N,01322.0000,E,0.0,0.0,%02d%02d%02d,,,A",
		label.Hour(), label.Minute(), label.Second(), label.Day(), int(label.Month()), label.Year()%100)
	var cs byte
	for i := 0; i < len(body); i++ {
		cs ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X", body, cs)
}
