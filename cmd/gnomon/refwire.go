package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
)

// referenceConfig describes the refclock I/O edge: the serial port the NMEA
// comes from, the PPS source and the local clock that stamps sentences.
type referenceConfig struct {
	log *slog.Logger
	cfg refclock.Config
	// serial is the port opened before the privilege drop; later reopens
	// (after a device error) go through board.OpenSerial(serialPath, baud).
	serial     io.ReadCloser
	serialPath string
	baud       int
	pps        pps.Source // nil: NMEA alone
	now        func() time.Time
	// reopen opens the port again after a fault; nil is board.OpenSerial.
	reopen func(path string, baud int) (io.ReadCloser, error)
}

// newReference checks cfg and returns the refclock I/O edge: it runs
// refclock's reader over a reopening serial port until ctx is done, and
// closes the devices on the way out.
func newReference(rc referenceConfig) (func(ctx context.Context, out chan<- refclock.Sample) error, error) {
	clk, err := refclock.New(rc.cfg, rc.log)
	if err != nil {
		return nil, fmt.Errorf("refclock: %w", err)
	}
	return func(ctx context.Context, out chan<- refclock.Sample) error {
		var mu sync.Mutex
		first := rc.serial
		open := func() (io.ReadCloser, error) {
			mu.Lock()
			defer mu.Unlock()
			if first != nil {
				f := first
				first = nil
				return f, nil
			}
			if rc.reopen != nil {
				return rc.reopen(rc.serialPath, rc.baud)
			}
			return board.OpenSerial(rc.serialPath, rc.baud)
		}
		port := refclock.NewReopenReader(ctx, open, rc.cfg.Reopen, rc.log)
		defer port.Close()
		var pulses pps.Source
		if rc.pps != nil {
			pulses = rc.pps
			defer rc.pps.Close()
		}
		return clk.Run(ctx, port, pulses, rc.now, out)
	}, nil
}
