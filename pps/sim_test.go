package pps

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestSimDeliversInOrder(t *testing.T) {
	ch := make(chan Edge, 3)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		ch <- Edge{Time: base.Add(time.Duration(i) * time.Second), Seq: uint64(i + 1), Assert: true}
	}
	close(ch)
	s := NewSim(ch, 2*time.Microsecond)
	if s.Precision() != 2*time.Microsecond {
		t.Errorf("Precision = %v", s.Precision())
	}
	for i := range 3 {
		e, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i+1) || !e.Time.Equal(base.Add(time.Duration(i)*time.Second)) {
			t.Errorf("edge %d = %+v", i, e)
		}
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Next on closed channel = %v, want io.EOF", err)
	}
}

func TestSimContextAndClose(t *testing.T) {
	ch := make(chan Edge)
	s := NewSim(ch, time.Microsecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next(cancelled) = %v", err)
	}
	done := make(chan error)
	go func() {
		_, err := s.Next(context.Background())
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("pending Next after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSeqExtender(t *testing.T) {
	var s seqExtender
	steps := []struct {
		raw   uint32
		want  uint64
		isNew bool
	}{
		{10, 10, true}, {10, 10, false}, {11, 11, true}, {14, 14, true}, // gap of 2 kept
		{0xffffffff, 0xffffffff, true}, {2, 0x100000002, true}, {2, 0x100000002, false},
	}
	for i, st := range steps {
		got, isNew := s.next(st.raw)
		if got != st.want || isNew != st.isNew {
			t.Errorf("step %d next(%#x) = %#x,%v want %#x,%v", i, st.raw, got, isNew, st.want, st.isNew)
		}
	}
}

func TestPolarity(t *testing.T) {
	for _, p := range []Polarity{Rising, Falling} {
		q, err := ParsePolarity(p.String())
		if err != nil || q != p || p.Validate() != nil {
			t.Errorf("round trip %v: %v %v", p, q, err)
		}
	}
	if _, err := ParsePolarity("up"); err == nil {
		t.Error("ParsePolarity(up) accepted")
	}
	if Polarity(7).Validate() == nil {
		t.Error("Polarity(7) valid")
	}
}
