package simhat

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

// offsetClock is a simulated clock a fixed offset ahead of true time.
type offsetClock time.Duration

func (c offsetClock) At(trueT time.Time) time.Time { return trueT.Add(time.Duration(c)) }

// TestRoundTrip runs the hat for a few seconds and reads it back as the
// appliance does: edges from the channel, NMEA from the pty's slave.
func TestRoundTrip(t *testing.T) {
	const off = 50 * time.Millisecond
	hat, err := New(offsetClock(off), Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hat.Close() })
	if !strings.HasPrefix(hat.SerialPath(), "/dev/pts/") {
		t.Fatalf("SerialPath %q is not a pty slave", hat.SerialPath())
	}
	port, err := os.OpenFile(hat.SerialPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- hat.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-runDone
	})

	type line struct {
		text string
		at   time.Time
	}
	lines := make(chan line, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(port)
		for sc.Scan() {
			lines <- line{sc.Text(), time.Now()}
		}
	}()

	deadline := time.After(10 * time.Second)
	var edges int
	var rmcs []nmea.RMC
	for edges < 3 || len(rmcs) < 3 {
		select {
		case e := <-hat.Edges():
			edges++
			trueSec := e.Time.Add(-off).Round(time.Second)
			if d := e.Time.Sub(trueSec.Add(off)); d < -10*time.Microsecond || d > 10*time.Microsecond {
				t.Errorf("edge %d stamped %v, %v from the clock's reading at a true second", e.Seq, e.Time, d)
			}
			if !e.Assert || e.Seq != uint64(edges) {
				t.Errorf("edge %+v: want assert edge with seq %d", e, edges)
			}
		case l := <-lines:
			s, err := nmea.Parse(strings.TrimSpace(l.text))
			if err != nil {
				t.Errorf("line %q: %v", l.text, err)
				continue
			}
			rmc, ok := s.(nmea.RMC)
			if !ok {
				continue
			}
			rmcs = append(rmcs, rmc)
			// The burst names the second that began 0.2 s before.
			named := time.Date(2000+rmc.Date.YY, time.Month(rmc.Date.MM), rmc.Date.DD,
				rmc.Time.Hour, rmc.Time.Minute, rmc.Time.Second, 0, time.UTC)
			if d := l.at.Sub(named); d < 100*time.Millisecond || d > 900*time.Millisecond {
				t.Errorf("RMC naming %v read %v after that second began", named, d)
			}
		case <-deadline:
			t.Fatalf("after 10 s: %d edges, %d RMC sentences", edges, len(rmcs))
		}
	}
	for i := 1; i < len(rmcs); i++ {
		if (rmcs[i].Time.Second-rmcs[i-1].Time.Second+60)%60 != 1 {
			t.Errorf("RMC seconds %v then %v: want consecutive", rmcs[i-1].Time, rmcs[i].Time)
		}
	}

	// Run stops on ctx and closes the edge channel.
	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		runDone <- nil // for the cleanup
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for range hat.Edges() {
	}
	if err := hat.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestStopsWithoutReaders checks that a hat nobody reads stops promptly on
// ctx, with the pulses it made waiting in the channel.
func TestStopsWithoutReaders(t *testing.T) {
	hat, err := New(offsetClock(0), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer hat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	if err := hat.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if late := time.Since(ctxDeadline(ctx)); late > 500*time.Millisecond {
		t.Errorf("Run returned %v after ctx ended", late)
	}
	n := 0
	for range hat.Edges() {
		n++
	}
	if n < 2 || n > 3 {
		t.Errorf("%d edges in 2.5 s, want 2 or 3", n)
	}
	if err := hat.Run(context.Background()); err == nil {
		t.Error("second Run did not fail")
	}
}

func ctxDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.NMEADelay = 2 * time.Second
	if _, err := New(offsetClock(0), bad); err == nil {
		t.Error("New accepted NMEADelay 2s")
	}
}

// TestErrorAfter: a receiver that starts lying (300 ms ahead) after 1.5 s
// marks true seconds first, then its own, 300 ms early in true time.
func TestErrorAfter(t *testing.T) {
	hat, err := New(offsetClock(0), Config{TimeError: 300 * time.Millisecond, ErrorAfter: 1500 * time.Millisecond, PPSJitter: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer hat.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := hat.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var honest, lying int
	for e := range hat.Edges() {
		frac := e.Time.Sub(e.Time.Truncate(time.Second))
		switch since := e.Time.Sub(start); {
		case since < 1500*time.Millisecond:
			if frac > 10*time.Millisecond && frac < 990*time.Millisecond {
				t.Errorf("edge %d at %v before the lie is %v off a true second", e.Seq, since, frac)
			}
			honest++
		case since > 1600*time.Millisecond:
			if d := frac - 700*time.Millisecond; d.Abs() > 10*time.Millisecond {
				t.Errorf("edge %d at %v after the lie is at %v past a true second, want 700ms", e.Seq, since, frac)
			}
			lying++
		}
	}
	if honest < 1 || lying < 2 {
		t.Errorf("%d honest and %d lying edges, want at least 1 and 2", honest, lying)
	}
	if _, err := New(offsetClock(0), Config{ErrorAfter: -time.Second}); err == nil {
		t.Error("New accepted a negative ErrorAfter")
	}
}
