package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
)

// referenceConfig describes the refclock I/O edge: where the NMEA comes
// from, the PPS source and the local clock that stamps sentences.
type referenceConfig struct {
	log        *slog.Logger
	serialPath string
	baud       int
	pps        pps.Source
	now        func() time.Time
	locker     refclock.LockerConfig
}

// newReference returns the refclock I/O edge.
// TEMPORARY: a minimal reader until refclock.Run lands.
func newReference(rc referenceConfig) func(ctx context.Context, out chan<- refclock.Sample) error {
	return func(ctx context.Context, out chan<- refclock.Sample) error {
		port, err := os.OpenFile(rc.serialPath, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", rc.serialPath, err)
		}
		defer rc.pps.Close()
		go func() {
			<-ctx.Done()
			port.Close()
		}()
		msgs := make(chan refclock.TimeMsg, 8)
		edges := make(chan pps.Edge, 8)
		go func() {
			p := refclock.NewParser(refclock.NMEAConfig{})
			sc := bufio.NewScanner(port)
			for sc.Scan() {
				if m, ok := p.Line(sc.Text(), rc.now()); ok {
					msgs <- m
				}
			}
		}()
		go func() {
			for {
				e, err := rc.pps.Next(ctx)
				if err != nil {
					return
				}
				edges <- e
			}
		}()
		l := refclock.NewLocker(rc.locker)
		for {
			var s refclock.Sample
			var ok bool
			select {
			case <-ctx.Done():
				return nil
			case m := <-msgs:
				s, ok = l.AddTime(m)
			case e := <-edges:
				s, ok = l.AddEdge(e)
			}
			if ok {
				select {
				case out <- s:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}
