package pps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// recPin is a gpiotest.Pin that records how In was called.
type recPin struct {
	*gpiotest.Pin
	mu    sync.Mutex
	calls []string
}

func (p *recPin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	p.calls = append(p.calls, pull.String()+"/"+edge.String())
	p.mu.Unlock()
	return p.Pin.In(pull, edge)
}

func newRecPin() *recPin {
	return &recPin{Pin: &gpiotest.Pin{N: "GPIO18", Num: 18, EdgesChan: make(chan gpio.Level, 4)}}
}

// fakeNow returns t0, t0+1s, t0+2s, ... on successive calls.
func fakeNow(t0 time.Time) func() time.Time {
	n := 0
	return func() time.Time {
		t := t0.Add(time.Duration(n) * time.Second)
		n++
		return t
	}
}

func TestPeriphStampsEdges(t *testing.T) {
	for _, tc := range []struct {
		pol  Polarity
		want string
	}{{Rising, "PullNoChange/RisingEdge"}, {Falling, "PullNoChange/FallingEdge"}} {
		pin := newRecPin()
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		s, err := NewPeriph(pin, tc.pol, fakeNow(t0))
		if err != nil {
			t.Fatal(err)
		}
		if len(pin.calls) != 1 || pin.calls[0] != tc.want {
			t.Errorf("%v: In calls %v, want [%s]", tc.pol, pin.calls, tc.want)
		}
		pin.EdgesChan <- gpio.High
		pin.EdgesChan <- gpio.Low
		for i := range 2 {
			e, err := s.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !e.Time.Equal(t0.Add(time.Duration(i)*time.Second)) || e.Seq != uint64(i+1) || !e.Assert {
				t.Errorf("%v: edge %d = %+v", tc.pol, i, e)
			}
		}
		if s.Precision() != PeriphPrecision {
			t.Errorf("Precision = %v", s.Precision())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if last := pin.calls[len(pin.calls)-1]; last != "PullNoChange/NoEdge" {
			t.Errorf("Close left the pin with In(%s), want edge detection off", last)
		}
		if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close = %v, want ErrClosed", err)
		}
	}
}

func TestPeriphContext(t *testing.T) {
	pin := newRecPin()
	s, err := NewPeriph(pin, Rising, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Next(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v, want context.Canceled", err)
	}
}

func TestPeriphErrors(t *testing.T) {
	noEdges := &gpiotest.Pin{N: "GPIO4", Num: 4} // In with an edge fails without EdgesChan
	_, err := NewPeriph(noEdges, Rising, nil)
	if err == nil || !strings.Contains(err.Error(), "GPIO4(4)") {
		t.Errorf("NewPeriph on a pin without edge support = %v, want an error naming the pin", err)
	}
	if _, err := NewPeriph(nil, Rising, nil); err == nil {
		t.Error("nil pin accepted")
	}
	if _, err := NewPeriph(newRecPin(), Polarity(3), nil); err == nil {
		t.Error("bad polarity accepted")
	}
}
