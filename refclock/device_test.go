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

// A bare PPS wire: a Device with no serial port numbers its pulses from
// NTP time and stops cleanly; without NTP time it refuses to run, and
// with neither port nor pulses it refuses to be made.
func TestDeviceBarePPS(t *testing.T) {
	if _, err := NewDevice(DefaultConfig(), Devices{}, nil); err == nil {
		t.Fatal("a device with neither a port nor a PPS source was made")
	}
	const ahead = 300 * time.Millisecond // local - true
	base := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	edges := make(chan pps.Edge)
	d, err := NewDevice(DefaultConfig(), Devices{PPS: pps.NewSim(edges, time.Microsecond)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), time.Now, make(chan source.Sample)); err == nil {
		t.Fatal("a bare PPS device ran without NTP time")
	}

	edges = make(chan pps.Edge)
	d, err = NewDevice(DefaultConfig(), Devices{PPS: pps.NewSim(edges, time.Microsecond)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetNTPTime(func(time.Time) (NTPTime, bool) {
		return NTPTime{Offset: -ahead + 3*time.Millisecond, ErrorBound: 5 * time.Millisecond}, true
	})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan source.Sample, 16)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, time.Now, out) }()
	for k := 1; k <= 3; k++ {
		edges <- pps.Edge{Time: base.Add(time.Duration(k) * time.Second).Add(ahead), Seq: uint64(k), Assert: true}
		select {
		case s := <-out:
			if s.Kind != source.KindPPS || s.Offset != -ahead {
				t.Fatalf("pulse %d: sample kind %v offset %v, want PPS %v", k, s.Kind, s.Offset, -ahead)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("pulse %d: no sample", k)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if st := d.Status(); st.Locker.NTPNumbered != 3 || st.NMEA.Lines != 0 {
		t.Errorf("status: numbered from NTP %d, NMEA lines %d; want 3, 0", st.Locker.NTPNumbered, st.NMEA.Lines)
	}
}
