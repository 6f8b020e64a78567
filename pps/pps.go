package pps

import (
	"context"
	"time"
)

// Edge is one pulse edge as stamped by the local clock (the system clock on
// hardware, the simulated clock in simulation).
type Edge struct {
	// Time is the local clock reading at the edge.
	Time time.Time
	// Seq is the source's sequence number for the edge; it grows by one per
	// edge the source saw, so a gap means missed pulses.
	Seq uint64
	// Assert is true for an assert (on-time) edge, false for a clear edge.
	Assert bool
}

// Source delivers PPS edges. Implementations are safe for one reader.
type Source interface {
	// Next blocks until the next edge, until ctx is done (returning
	// ctx.Err()), or until the source fails.
	Next(ctx context.Context) (Edge, error)
	// Precision is the typical (1 sigma) error of this source's timestamps.
	Precision() time.Duration
	// Close releases the device.
	Close() error
}
