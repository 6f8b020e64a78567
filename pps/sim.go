package pps

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// sim is a Source fed from a channel: the simulated GPS hat and tests send
// edges, Next hands them out.
type sim struct {
	edges     <-chan Edge
	precision time.Duration
	once      sync.Once
	done      chan struct{}
}

// NewSim returns a Source delivering the edges sent on edges, reporting
// precision as its Precision. When edges is closed, Next returns an error
// wrapping io.EOF.
func NewSim(edges <-chan Edge, precision time.Duration) Source {
	return &sim{edges: edges, precision: precision, done: make(chan struct{})}
}

// Next implements Source.
func (s *sim) Next(ctx context.Context) (Edge, error) {
	// Checked first so a closed or cancelled source never hands out a
	// buffered edge.
	select {
	case <-s.done:
		return Edge{}, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return Edge{}, err
	}
	select {
	case <-ctx.Done():
		return Edge{}, ctx.Err()
	case <-s.done:
		return Edge{}, ErrClosed
	case e, ok := <-s.edges:
		if !ok {
			return Edge{}, fmt.Errorf("pps: simulated edge channel closed: %w", io.EOF)
		}
		return e, nil
	}
}

// Precision implements Source.
func (s *sim) Precision() time.Duration { return s.precision }

// Close implements Source; it unblocks a pending Next.
func (s *sim) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}
