package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/server"
)

// appliance is the wiring shared by hardware and simulation: a reference
// producing samples, the discipline loop steering clock, and the server
// serving it. Devices are opened by the caller; Listen happens here, then
// afterListen (the privilege drop) runs before any goroutine starts.
type appliance struct {
	log       *slog.Logger
	clock     discipline.Clock
	leaps     discipline.LeapSource
	timeSrc   server.TimeSource
	discCfg   discipline.Config
	srvCfg    server.Config
	driftPath string
	// reference runs the refclock I/O edge until ctx is done, sending
	// samples; it owns (and closes) the serial and PPS devices.
	reference func(ctx context.Context, samples chan<- refclock.Sample) error
	// tasks are further goroutines by name (the simulated hat).
	tasks map[string]func(ctx context.Context) error
	// afterListen runs once the sockets are bound (privilege drop).
	afterListen func() error
	// status, if set, runs beside the other parts with the loop's state
	// (periodic status lines).
	status func(ctx context.Context, state func() *discipline.SyncState) error

	// started is set once the reference runs (and owns the devices).
	started bool
}

// run runs the appliance until ctx is done or a part fails. The drift file
// is written by the discipline on the way out.
func (a *appliance) run(ctx context.Context) error {
	loop, err := discipline.NewLoop(a.discCfg, a.clock, a.leaps)
	if err != nil {
		return fmt.Errorf("discipline: %w", err)
	}
	srv, err := server.New(a.srvCfg, a.timeSrc, loop.State, a.log.With("part", "server"))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	defer srv.Close()
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
	samples := make(chan refclock.Sample, 16)
	a.started = true
	for name, t := range a.tasks {
		start(name, t)
	}
	start("refclock", func(ctx context.Context) error { return a.reference(ctx, samples) })
	start("discipline", func(ctx context.Context) error {
		return discipline.Run(ctx, loop, samples, a.driftPath, a.log.With("part", "discipline"))
	})
	start("server", srv.Serve)
	if a.status != nil {
		start("status", func(ctx context.Context) error { return a.status(ctx, loop.State) })
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
