package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntpclient"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/server"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

// appliance is the wiring shared by hardware and simulation: the GPS
// refclock producing samples, the selection and discipline loop steering
// clock, and the server serving it. The caller opens the devices and hands
// them to ref, their one owner; run closes ref whatever happens. Listen
// happens here, then afterListen (the privilege drop) runs before any
// goroutine starts.
type appliance struct {
	log       *slog.Logger
	clock     discipline.Clock
	leaps     discipline.LeapSource
	timeSrc   server.TimeSource
	discCfg   discipline.Config
	srvCfg    server.Config
	selCfg    selection.Config
	driftPath string
	// tempPath is the temperature sensor's file the discipline reads each
	// second ("": none; the hardware path's only).
	tempPath string
	// ref is the GPS refclock; it owns the serial and PPS devices.
	ref *refclock.Device
	// upstreams are the NTP servers polled beside the GPS.
	upstreams []ntpclient.Upstream
	// tasks are further goroutines by name (the simulated hat).
	tasks map[string]func(ctx context.Context) error
	// afterListen runs once the sockets are bound (privilege drop).
	afterListen func() error
	// statusLevel and statusEvery set the periodic status line;
	// statusExtra adds attributes to it (nil: none).
	statusLevel slog.Level
	statusEvery time.Duration
	statusExtra func() []any
	// views are the --control-socket and --http-listen flags; sim picks
	// the simulation's default socket; socketGID owns it (-1: ours);
	// hasPPS says a PPS source is wired (else no PPS is no fault).
	views     viewFlags
	sim       bool
	socketGID int
	hasPPS    bool
	// ppsFromNTP numbers the pulses from the selected upstream's time: a
	// bare PPS wire with no NMEA.
	ppsFromNTP bool
	// probeBaud tries the other baud rates when the port carries only
	// noise (nil: none).
	probeBaud func(ctx context.Context) (int, error)

	// snapshot returns the whole state once run has wired the parts (nil
	// before).
	snapshot func() *status.Snapshot
}

// run runs the appliance until ctx is done or a part fails. The drift file
// is written by the discipline on the way out.
func (a *appliance) run(ctx context.Context) error {
	defer a.ref.Close()
	loop, err := discipline.NewLoop(a.discCfg, a.clock, a.leaps)
	if err != nil {
		return fmt.Errorf("discipline: %w", err)
	}
	sel, err := selection.New(a.selCfg, source.RefclockID)
	if err != nil {
		return err
	}
	poller, err := ntpclient.NewPoller(a.upstreams, a.timeSrc, nil, a.log.With("part", "ntpclient"))
	if err != nil {
		return err
	}
	for _, id := range poller.PeerIDs() {
		if err := sel.AddUpstream(id, poller.Preferred(id)); err != nil {
			return err
		}
	}
	runner := discipline.NewRunner(loop, sel, a.driftPath, a.log.With("part", "discipline"))
	runner.OnStep(poller.Stepped)
	runner.SetTemperatureFile(a.tempPath)
	if a.ppsFromNTP {
		a.ref.SetNTPTime(func(local time.Time) (refclock.NTPTime, bool) {
			off, bound, ok := selection.NTPTimeOf(runner.Sources(), local)
			return refclock.NTPTime{Offset: off, ErrorBound: bound}, ok
		})
	}
	srv, err := server.New(a.srvCfg, a.timeSrc, loop.State, a.log.With("part", "server"))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	collector := status.NewCollector(status.Parts{
		Now:         a.timeSrc.Now,
		Sync:        loop.State,
		Sources:     runner.Sources,
		Refclock:    a.ref.Status,
		Temperature: runner.Temperature,
		Server:      srv.StatusCounters,
		Upstream: func(id source.ID) (status.Upstream, bool) {
			for _, st := range poller.Statuses() {
				if st.ID == id {
					return status.Upstream{Reach: st.Status.Reach, PollLog2: st.Status.PollLog2, RefID: st.Status.UpstreamRefID}, true
				}
			}
			return status.Upstream{}, false
		},
	}, a.timeSrc.Now())
	a.snapshot = collector.Snapshot
	srv.SetSnapshot(collector.Snapshot)
	if err := srv.Listen(); err != nil {
		return err
	}
	defer srv.Close()
	vw, err := a.openViews(collector.Snapshot)
	if err != nil {
		return err
	}
	defer vw.close()
	spareProc(len(a.srvCfg.ListenAddrs) * a.srvCfg.Workers)
	for _, ap := range srv.Addrs() {
		a.log.Info("serving NTP", "addr", ap.String())
	}
	if a.afterListen != nil {
		if err := a.afterListen(); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := func(name string, f func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx)
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: %w", name, err)
				a.log.Error("stopping", "part", name, "err", err)
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel(err)
				return
			}
			if ctx.Err() == nil {
				// A part ending on its own stops the appliance too: serving
				// time without a reference or a loop would be a lie.
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("%s stopped", name)
				}
				mu.Unlock()
				cancel(errors.New(name + " stopped"))
			}
		}()
	}
	samples := make(chan source.Sample, 16)
	for name, t := range a.tasks {
		start(name, t)
	}
	start("refclock", func(ctx context.Context) error { return a.ref.Run(ctx, a.clock.Now, samples) })
	start("discipline", func(ctx context.Context) error { return runner.Run(ctx, samples) })
	if len(a.upstreams) > 0 {
		start("ntpclient", func(ctx context.Context) error { return poller.Run(ctx, samples) })
	}
	start("server", srv.Serve)
	start("firsttime", func(ctx context.Context) error { return logFirstTime(ctx, a.log, runner.Sources) })
	for name, t := range vw.tasks {
		start(name, t)
	}
	wg.Wait()
	a.log.Info("stopped")
	return first
}

// spareProc gives the Go scheduler one P more than the NTP workers. A worker
// waits for datagrams blocked in recvmmsg; were every P held by a worker
// (GOMAXPROCS is the CPU count, and there is a worker per CPU), the
// runtime's monitor would take a blocked worker's P away for the other
// goroutines, wake a thread to run them and make the worker queue for a P
// when its datagram came: a scheduling round trip on every idle-to-busy
// turn, and on one core stalls of tens of milliseconds under load. A spare
// P costs nothing when idle. GOMAXPROCS is left alone if already larger.
func spareProc(workers int) {
	if n := workers + 1; runtime.GOMAXPROCS(0) < n {
		runtime.GOMAXPROCS(n)
	}
}

// logFirstTime logs, once, where the first time came from (the GPS vouched
// for by the upstreams, the GPS alone, or the upstreams), watching the
// selection's published standings; then it waits for ctx.
func logFirstTime(ctx context.Context, log *slog.Logger, sources func() []selection.SourceState) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if ft, ok := selection.FirstTimeOf(sources()); ok {
			log.Info("first time taken", "part", "discipline", "from", ft.From(), "source", ft.Peer, "kind", ft.Kind.String(),
				"upstreams_agreeing", ft.Agreeing, "upstreams", ft.Upstreams)
			<-ctx.Done()
			return nil
		}
	}
}
