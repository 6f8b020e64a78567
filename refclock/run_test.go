package refclock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// fakeNow is a goroutine-safe settable local clock.
type fakeNow struct{ ns atomic.Int64 }

func (f *fakeNow) set(t time.Time) { f.ns.Store(t.UnixNano()) }
func (f *fakeNow) now() time.Time  { return time.Unix(0, f.ns.Load()).UTC() }
func rmcAt(utc time.Time) string {
	return withSum(fmt.Sprintf("GNRMC,%02d%02d%02d.00,A,4717.11437,N,00833.91522,E,0.004,77.52,%02d%02d%02d,,,A",
		utc.Hour(), utc.Minute(), utc.Second(), utc.Day(), int(utc.Month()), utc.Year()%100)) + "\r\n"
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// harness runs a RefClock over a simulated PPS source and an NMEA pipe and
// feeds them in a fixed order: each edge is consumed by the Locker before
// the sentence after it is written.
type harness struct {
	t      *testing.T
	rc     *RefClock
	clock  fakeNow
	edges  chan pps.Edge
	nmeaW  *io.PipeWriter
	out    chan source.Sample
	done   chan error
	cancel context.CancelFunc
	seq    uint64
	log    bytes.Buffer
}

func newHarness(t *testing.T, withPPS bool) *harness {
	h := &harness{t: t, edges: make(chan pps.Edge), out: make(chan source.Sample, 1000), done: make(chan error, 1)}
	rc, err := New(Config{}, slog.New(slog.NewTextHandler(&h.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.rc = rc
	r, w := io.Pipe()
	h.nmeaW = w
	var src pps.Source
	if withPPS {
		src = pps.NewSim(h.edges, 2*time.Microsecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- rc.Run(ctx, r, src, h.clock.now, h.out) }()
	t.Cleanup(func() {
		cancel()
		w.Close()
		if err := <-h.done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return h
}

func (h *harness) edge(local time.Time) {
	h.seq++
	n := h.rc.Status().Locker.Edges
	h.edges <- pps.Edge{Time: local, Seq: h.seq, Assert: true}
	waitFor(h.t, "edge consumed", func() bool { return h.rc.Status().Locker.Edges > n })
}

func (h *harness) sentence(utc, rx time.Time) {
	n := h.rc.Status().NMEA.Lines
	h.clock.set(rx)
	if _, err := io.WriteString(h.nmeaW, rmcAt(utc)); err != nil {
		h.t.Fatal(err)
	}
	// Parsed, and any TimeMsg it gave handled by the Locker.
	waitFor(h.t, "sentence consumed", func() bool {
		st := h.rc.Status()
		return st.NMEA.Lines > n && st.NMEA.TimeMsgs == st.Locker.Times
	})
}

func TestRunPPSEndToEnd(t *testing.T) {
	h := newHarness(t, true)
	// The local clock is 1 ms slow: Offset +1 ms. Seconds 20-24 the
	// receiver names the next second (S9); they are rejected. Pulse 30 is
	// stamped 150 µs late (S5's tail); the filter drops it.
	const n = 40
	for k := 0; k < n; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		local := utc.Add(-time.Millisecond)
		if k == 30 {
			h.edge(local.Add(150 * time.Microsecond))
		} else {
			h.edge(local)
		}
		label := utc
		if k >= 20 && k < 25 {
			label = utc.Add(time.Second)
		}
		h.sentence(label, local.Add(180*time.Millisecond))
	}
	st := h.rc.Status()
	// The sentence of pulse 25 names the second pulse 24's wrong one did;
	// the parser reports each second once, so pulse 25 coasts too.
	if st.Sent != n-2 || !st.Locked || st.Locker.Disagree != 5 || st.Locker.Coasted != 6 ||
		st.RefID != ntp.RefIDPPS || st.Filter.Rejected != 1 {
		t.Fatalf("status %+v", st)
	}
	for i := 0; i < n-2; i++ {
		s := <-h.out
		if s.Offset != time.Millisecond || s.RefID != ntp.RefIDPPS || s.Sigma != 2*time.Microsecond {
			t.Errorf("sample %d: %+v, want +1ms PPS with the source's 2µs precision", i, s)
		}
	}
	if !bytes.Contains(h.log.Bytes(), []byte("pps locked to nmea")) {
		t.Errorf("lock not logged:\n%s", h.log.String())
	}
	// Pulses stop: after PulseTimeout sentences alone give GPS samples
	// using the learned 180 ms delay.
	for k := n; k < n+6; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		h.sentence(utc, utc.Add(179*time.Millisecond))
	}
	st = h.rc.Status()
	// The late pulse 30 moved the learned delay by 150 µs / 16.
	if st.Locked || st.RefID != ntp.RefIDGPS || !st.NMEADelayLearned || (st.NMEADelay-180*time.Millisecond).Abs() > 20*time.Microsecond {
		t.Fatalf("status %+v", st)
	}
	s := <-h.out
	if s.RefID != ntp.RefIDGPS || (s.Offset-time.Millisecond).Abs() > 20*time.Microsecond {
		t.Errorf("GPS sample %+v, want offset +1ms", s)
	}
	if !bytes.Contains(h.log.Bytes(), []byte("pps lock lost")) {
		t.Errorf("lock loss not logged:\n%s", h.log.String())
	}
}

func TestRunNMEAOnly(t *testing.T) {
	h := newHarness(t, false)
	for k := 0; k < 5; k++ {
		utc := t0.Add(time.Duration(k) * time.Second)
		h.sentence(utc, utc.Add(200*time.Millisecond)) // DefaultLockerConfig NMEADelay
	}
	for k := 0; k < 5; k++ {
		if s := <-h.out; s.RefID != ntp.RefIDGPS || s.Offset != 0 {
			t.Errorf("sample %d: %+v", k, s)
		}
	}
}

func TestRunStopsAndReportsNMEAEnd(t *testing.T) {
	// A finite NMEA stream ends Run with its error.
	out := make(chan source.Sample, 10)
	err := Run(context.Background(), Config{}, bytes.NewReader([]byte(rmcAt(t0))), nil, (&fakeNow{}).now, out, nil)
	if !errors.Is(err, io.EOF) {
		t.Errorf("Run = %v, want EOF", err)
	}
	if len(out) != 1 {
		t.Errorf("%d samples, want 1", len(out))
	}
	// A bad config fails at start.
	if err := Run(context.Background(), Config{Locker: LockerConfig{LockCount: -1}}, nil, nil, time.Now, out, nil); err == nil {
		t.Error("bad config accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	bad := Config{NMEA: NMEAConfig{MaxLineLen: 10}, Filter: FilterConfig{K: 1}}
	err := bad.Validate()
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("MaxLineLen")) || !bytes.Contains([]byte(err.Error()), []byte("threshold K")) {
		t.Errorf("Validate() = %v, want both errors", err)
	}
}
