package refclock

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// closeCounter is a serial port that blocks reads until closed.
type closeCounter struct {
	closes atomic.Int32
	done   chan struct{}
}

func newCloseCounter() *closeCounter { return &closeCounter{done: make(chan struct{})} }

func (c *closeCounter) Read([]byte) (int, error) { <-c.done; return 0, io.EOF }
func (c *closeCounter) Close() error {
	if c.closes.Add(1) == 1 {
		close(c.done)
	}
	return nil
}

// ppsCounter is a pulse source that counts Close calls.
type ppsCounter struct{ closes atomic.Int32 }

func (p *ppsCounter) Next(ctx context.Context) (pps.Edge, error) {
	<-ctx.Done()
	return pps.Edge{}, ctx.Err()
}
func (p *ppsCounter) Precision() time.Duration { return time.Microsecond }
func (p *ppsCounter) Close() error             { p.closes.Add(1); return nil }

// The Device is the one owner of its devices: each is closed exactly once
// whether it fails to start, is closed unused, or runs and stops.
func TestDeviceOwnsItsDevices(t *testing.T) {
	t.Run("bad config", func(t *testing.T) {
		ser, p := newCloseCounter(), &ppsCounter{}
		cfg := DefaultConfig()
		cfg.Locker.MaxNMEADelay = 5 * time.Second
		if _, err := NewDevice(cfg, Devices{Serial: ser, PPS: p}, nil); err == nil {
			t.Fatal("bad config accepted")
		}
		if ser.closes.Load() != 1 || p.closes.Load() != 1 {
			t.Fatalf("closes: serial %d pps %d, want 1 each", ser.closes.Load(), p.closes.Load())
		}
	})
	t.Run("closed unused", func(t *testing.T) {
		ser, p := newCloseCounter(), &ppsCounter{}
		d, err := NewDevice(DefaultConfig(), Devices{Serial: ser, PPS: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		d.Close()
		if ser.closes.Load() != 1 || p.closes.Load() != 1 {
			t.Fatalf("closes: serial %d pps %d, want 1 each", ser.closes.Load(), p.closes.Load())
		}
		if err := d.Run(context.Background(), time.Now, make(chan source.Sample)); err == nil {
			t.Fatal("Run after Close succeeded")
		}
	})
	t.Run("run", func(t *testing.T) {
		ser, p := newCloseCounter(), &ppsCounter{}
		d, err := NewDevice(DefaultConfig(), Devices{Serial: ser, PPS: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx, time.Now, make(chan source.Sample)) }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		d.Close()
		if ser.closes.Load() != 1 || p.closes.Load() != 1 {
			t.Fatalf("closes: serial %d pps %d, want 1 each", ser.closes.Load(), p.closes.Load())
		}
	})
}
