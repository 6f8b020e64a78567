package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/views"
)

// monitorContext stops a bring-up tool on Ctrl-C or SIGTERM.
func monitorContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// parseMonitor parses a tool's flags, reporting usage errors as exit 2.
func parseMonitor(fs *flag.FlagSet, args []string, stderr io.Writer, device *string) (code int, ok bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 || *device == "" {
		fmt.Fprintf(stderr, "%s: give --device PATH and no other argument\n", fs.Name())
		return 2, false
	}
	return 0, true
}

// gpsmonCmd is "gnomon gpsmon --device PATH --baud N [--json] [--count N]":
// the receiver's sentences and each decoded second, before any
// configuration.
func gpsmonCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gnomon gpsmon", flag.ContinueOnError)
	device := fs.String("device", "", "serial `path` of the receiver, e.g. /dev/serial0")
	baud := fs.Int("baud", 9600, "the receiver's baud `rate`")
	asJSON := fs.Bool("json", false, "print one JSON object per decoded time message (utc, valid, fix, sats, ...)")
	count := fs.Int("count", 0, "stop after `n` time messages (0: run until interrupted)")
	ppsDev := fs.String("pps", "", "kernel PPS device `path` (e.g. /dev/pps0): measure the delay from the pulse to each sentence")
	if code, ok := parseMonitor(fs, args, stderr, device); !ok {
		return code
	}
	var lastEdge atomic.Int64 // UnixNano of the last PPS edge, 0 before any
	if *ppsDev != "" {
		src, err := pps.OpenKernel(*ppsDev, false)
		if err != nil {
			fmt.Fprintln(stderr, "gnomon gpsmon:", err)
			return 1
		}
		defer src.Close()
		go func() {
			for {
				e, err := src.Next(context.Background())
				if err != nil {
					return
				}
				lastEdge.Store(e.Time.UnixNano())
			}
		}()
	}
	port, err := board.OpenSerial(*device, *baud)
	if err != nil {
		fmt.Fprintln(stderr, "gnomon gpsmon:", err)
		return 1
	}
	ctx, stop := monitorContext()
	defer stop()
	go func() {
		<-ctx.Done()
		port.Close()
	}()
	reader := refclock.NewNMEAReader(port, refclock.DefaultNMEAConfig(), time.Now)
	msgs := make(chan refclock.TimeMsg, 4)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- reader.Run(rctx, msgs) }()
	enc := json.NewEncoder(stdout)
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case <-ctx.Done():
			return 0
		case err := <-errc:
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(stderr, "gnomon gpsmon:", err)
			return 1
		case m := <-msgs:
			var edge time.Time
			if ns := lastEdge.Load(); ns != 0 {
				edge = time.Unix(0, ns)
			}
			l := views.NewGPSLine(m, edge)
			if *asJSON {
				enc.Encode(l)
				continue
			}
			fix := "no fix"
			if l.Fix >= 2 {
				fix = fmt.Sprintf("%dD", l.Fix)
			}
			c := reader.Stats().Snapshot()
			if l.PPSDelayS != nil {
				fmt.Fprintf(stdout, "pps to sentence: %.3f s\n", *l.PPSDelayS)
			}
			fmt.Fprintf(stdout, "%s %s valid=%v %s sats=%d/%d hdop=%.2f, read %.3f s after the local second; lines %d, checksum errors %d, noise %d\n",
				l.UTC, l.Sentence, l.Valid, fix, l.Sats, l.InView, l.HDOP, l.SinceSecondS, c.Lines, c.Checksum, c.Noise+c.Overlong)
		}
	}
	port.Close()
	return 0
}

// ppsmonCmd is "gnomon ppsmon --device PATH [--clear] [--count N]": each
// PPS edge from a kernel PPS device, with the interval and the jitter.
func ppsmonCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gnomon ppsmon", flag.ContinueOnError)
	device := fs.String("device", "", "kernel PPS device `path`, e.g. /dev/pps0")
	clear := fs.Bool("clear", false, "capture the clear edge instead of the assert edge")
	count := fs.Int("count", 0, "stop after `n` edges (0: run until interrupted)")
	if code, ok := parseMonitor(fs, args, stderr, device); !ok {
		return code
	}
	src, err := pps.OpenKernel(*device, *clear)
	if err != nil {
		fmt.Fprintln(stderr, "gnomon ppsmon:", err)
		return 1
	}
	defer src.Close()
	ctx, stop := monitorContext()
	defer stop()
	return monitorPulses(ctx, src, *count, stdout, stderr)
}

// monitorPulses prints count edges of src (0: until ctx is done).
func monitorPulses(ctx context.Context, src pps.Source, count int, stdout, stderr io.Writer) int {
	var mon views.PulseMonitor
	for n := 0; count == 0 || n < count; n++ {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		e, err := src.Next(tctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintln(stdout, "no edge for 3 s: check the overlay's gpiopin, the wire, and that the receiver has a fix")
			n--
			continue
		case err != nil:
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(stderr, "gnomon ppsmon:", err)
			return 1
		}
		r := mon.Add(e.Time)
		if r.Interval == 0 {
			fmt.Fprintf(stdout, "%s first edge\n", e.Time.UTC().Format(time.RFC3339Nano))
			continue
		}
		missed := ""
		if r.Missed > 0 {
			missed = fmt.Sprintf(" (%d missed)", r.Missed)
		}
		fmt.Fprintf(stdout, "%s interval %v error %v jitter %v%s\n", e.Time.UTC().Format(time.RFC3339Nano), r.Interval, r.Error, r.Jitter, missed)
	}
	return 0
}
