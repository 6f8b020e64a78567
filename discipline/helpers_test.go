package discipline

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

// ppsSample is a refclock pulse sample (reference - local = off).
func ppsSample(local time.Time, off, sigma time.Duration) source.Sample {
	return source.Sample{Source: source.RefclockID, Kind: source.KindPPS, Local: local,
		Offset: off, Sigma: sigma, ErrorBound: 3 * sigma, RefID: ntp.RefIDPPS}
}

// gpsSample is a refclock NMEA-only sample.
func gpsSample(local time.Time, off, sigma time.Duration) source.Sample {
	s := ppsSample(local, off, sigma)
	s.Kind, s.RefID = source.KindGPS, ntp.RefIDGPS
	return s
}

// refclockIn is a refclock sample with the identity the selection gives it
// as the only source.
func refclockIn(s source.Sample) (source.Sample, source.Identity) {
	return s, source.Identity{Peer: s.Source, Kind: s.Kind, Stratum: s.Stratum + 1, RefID: s.RefID}
}

// newRunner returns a runner for loop behind a selection with the refclock
// as its only source, as the appliance has.
func newRunner(t *testing.T, loop *Loop, driftPath string, log *slog.Logger) *Runner {
	t.Helper()
	sel, err := selection.New(selection.DefaultConfig(), source.RefclockID)
	if err != nil {
		t.Fatal(err)
	}
	return NewRunner(loop, sel, driftPath, log)
}

// runLoop runs loop behind a selection with the refclock as its only
// source, as the appliance does.
func runLoop(t *testing.T, ctx context.Context, loop *Loop, samples <-chan source.Sample, driftPath string, log *slog.Logger) error {
	t.Helper()
	return newRunner(t, loop, driftPath, log).Run(ctx, samples)
}
