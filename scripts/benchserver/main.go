// Command benchserver serves NTP with gnomon's server package exactly as
// `gnomon run` builds it (server.DefaultConfig), but with rate limiting off
// and a fixed synchronised stratum-1 state, so scripts/bench-server.sh can
// measure the serving path from one loopback address while `gnomon run` has
// no switch to turn its per-address limit off. It never touches the clock
// and stops by itself after -max-time.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/server"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("benchserver failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	listen := flag.String("listen", "127.0.0.1:11124", "UDP `address` to serve")
	maxTime := flag.Duration("max-time", 15*time.Minute, "stop after this long")
	flag.Parse()

	cfg := server.DefaultConfig()
	cfg.ListenAddrs = []string{*listen}
	cfg.RateInterval = 0 // one address is the whole benchmark's load
	start := time.Now()
	st := &discipline.SyncState{
		Synced: true, Leap: discipline.LeapNone, Stratum: 1, RefID: "PPS",
		RefTime: start, RootDispersion: time.Microsecond, DispersionRate: 15e-6, PrecisionLog2: -20,
	}
	srv, err := server.New(cfg, server.SystemClock{}, func() *discipline.SyncState { return st }, log)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *maxTime)
	defer cancelT()
	log.Info("serving NTP without rate limiting", "addr", *listen, "workers", cfg.Workers, "batch", cfg.BatchSize)
	if err := srv.Serve(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
