package refclock_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/source"
)

// Wiring the refclock on a board: the serial port behind a ReopenReader (so
// an unplugged receiver is reopened and ctx unblocks its Read), the PPS
// source from the pps package, samples to the discipline loop.
func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.Default()
	cfg := refclock.DefaultConfig()
	cfg.NMEA.Pivot = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // e.g. the build date
	cfg.Locker.EdgeDelay = 50 * time.Nanosecond                   // antenna cable

	open := func() (io.ReadCloser, error) {
		// On a board: tarm/serial.OpenPort(&serial.Config{Name: "/dev/serial0", Baud: 9600}).
		return os.Open("/dev/serial0")
	}
	serial := refclock.NewReopenReader(ctx, open, cfg.Reopen, log)
	defer serial.Close()

	var pulses pps.Source // e.g. pps.OpenKernel("/dev/pps0", false); nil runs on NMEA alone
	samples := make(chan source.Sample, 16)
	go func() {
		for s := range samples {
			_ = s // discipline loop Update(s)
		}
	}()
	if err := refclock.Run(ctx, cfg, serial, pulses, time.Now, samples, log); err != nil {
		log.Error("refclock stopped", "err", err)
	}
}
