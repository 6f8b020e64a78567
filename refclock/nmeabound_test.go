package refclock

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/source"
)

// TestNMEABoundPure: a receiver 150 ms after the second against the 200 ms
// default is 50 ms off, which nothing in its samples shows; the bound is
// the configured delay's uncertainty, at least the observed spread, and
// once the delay is learned from pulses the spread alone.
func TestNMEABoundPure(t *testing.T) {
	sec := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	feed := func(b *nmeaBound, delay, jitter time.Duration) {
		for i := 0; i < 20; i++ {
			j := jitter
			if i%2 == 1 {
				j = -jitter
			}
			utc := sec.Add(time.Duration(i) * time.Second)
			b.observe(TimeMsg{UTC: utc, Received: utc.Add(delay + j)})
		}
	}
	for _, c := range []struct {
		name            string
		cfgErr          time.Duration
		delay, jitter   time.Duration
		learned         bool
		atLeast, atMost time.Duration
	}{
		{"default uncertainty covers 50 ms off", DefaultNMEADelayErr, 150 * time.Millisecond, 5 * time.Millisecond, false, 50 * time.Millisecond, DefaultNMEADelayErr},
		{"a measured delay's smaller uncertainty", 20 * time.Millisecond, 150 * time.Millisecond, 2 * time.Millisecond, false, 20 * time.Millisecond, 20 * time.Millisecond},
		{"the spread when it is larger", 20 * time.Millisecond, 150 * time.Millisecond, 60 * time.Millisecond, false, 120 * time.Millisecond, 120 * time.Millisecond},
		{"learned: the spread alone", DefaultNMEADelayErr, 150 * time.Millisecond, 3 * time.Millisecond, true, 6 * time.Millisecond, 6 * time.Millisecond},
	} {
		b := newNMEABound(c.cfgErr)
		feed(b, c.delay, c.jitter)
		s := source.Sample{Kind: source.KindGPS}
		b.apply(&s, c.learned)
		if s.RootDispersion < c.atLeast || s.RootDispersion > c.atMost {
			t.Errorf("%s: root dispersion %v, want %v..%v", c.name, s.RootDispersion, c.atLeast, c.atMost)
		}
		p := source.Sample{Kind: source.KindPPS}
		b.apply(&p, c.learned)
		if p.RootDispersion != 0 {
			t.Errorf("%s: a PPS sample got root dispersion %v", c.name, p.RootDispersion)
		}
	}
}

// trueClock is the simulated hat's clock: the local clock is true time.
type trueClock struct{}

func (trueClock) At(t time.Time) time.Time { return t }

// TestNMEAOnlyBoundCoversDelayError runs the refclock on NMEA alone from
// the simulated hat (sentences 150 ms after the second, real pty) with the
// default 200 ms configured delay and a true local clock: every GPS sample
// is about 50 ms off, and its root dispersion plus error bound (what the
// selection and the server's root dispersion include) must cover that.
func TestNMEAOnlyBoundCoversDelayError(t *testing.T) {
	hat, err := simhat.New(trueClock{}, simhat.Config{NMEADelay: 150 * time.Millisecond, NMEAJitter: 2 * time.Millisecond, PPSJitter: time.Microsecond, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer hat.Close()
	port, err := os.OpenFile(hat.SerialPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hatDone := make(chan error, 1)
	go func() { hatDone <- hat.Run(ctx) }()
	rc, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan source.Sample, 16)
	runDone := make(chan error, 1)
	go func() { runDone <- rc.Run(ctx, port, nil, time.Now, out) }()

	var n int
	var worst time.Duration
	deadline := time.After(30 * time.Second)
	for n < 8 {
		select {
		case s := <-out:
			if s.Kind != source.KindGPS {
				t.Fatalf("sample kind %v, want GPS", s.Kind)
			}
			n++
			errTrue := s.Offset.Abs() // the local clock is true time
			covered := s.RootDispersion + s.ErrorBound
			t.Logf("GPS sample: offset %v (its true error), root dispersion %v, error bound %v", s.Offset.Round(time.Microsecond), s.RootDispersion, s.ErrorBound)
			// A loaded machine reads sentences late, which only shrinks
			// the offset; the largest one shows the receiver's 50 ms.
			worst = max(worst, errTrue)
			if covered < errTrue {
				t.Errorf("root dispersion %v + error bound %v do not cover the true error %v", s.RootDispersion, s.ErrorBound, errTrue)
			}
		case <-deadline:
			t.Fatalf("%d GPS samples in 30 s", n)
		}
	}
	if worst <= ErrorBoundSigmas*DefaultLockerConfig().NMEAErr {
		t.Errorf("largest error %v: the receiver should be about 50 ms off, beyond the samples' own error bound", worst)
	}
	cancel()
	port.Close()
	if err := <-runDone; err != nil && err != io.EOF {
		t.Logf("run: %v", err)
	}
	<-hatDone
}

func TestNMEADelayErrValidate(t *testing.T) {
	for _, c := range []struct {
		d  time.Duration
		ok bool
	}{{0, true}, {20 * time.Millisecond, true}, {-time.Millisecond, false}, {time.Second, false}} {
		if err := (Config{NMEADelayErr: c.d}).Validate(); (err == nil) != c.ok {
			t.Errorf("NMEADelayErr %v: Validate() = %v, want ok=%v", c.d, err, c.ok)
		}
	}
}
