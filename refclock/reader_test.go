package refclock

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunkReader returns its chunks one per Read, then EOF.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// stepClock returns t0 + n ms on its n-th call (from 1).
func stepClock() func() time.Time {
	var n int
	return func() time.Time { n++; return t0.Add(time.Duration(n) * time.Millisecond) }
}

func collect(t *testing.T, r *NMEAReader) ([]TimeMsg, error) {
	t.Helper()
	out := make(chan TimeMsg, 100)
	err := r.Run(context.Background(), out)
	close(out)
	var msgs []TimeMsg
	for m := range out {
		msgs = append(msgs, m)
	}
	return msgs, err
}

func TestNMEAReaderSplitsLines(t *testing.T) {
	sec := func(s int) string {
		return withSum("GNRMC,0835" + string(rune('0'+s/10)) + string(rune('0'+s%10)) + ".00,A,,,,,,,251126,,,A")
	}
	tests := []struct {
		name     string
		chunks   []string
		wantSecs []int           // seconds of 08:35:ss reported
		wantRx   []time.Duration // Received - t0 of each
		counts   NMEACounts
	}{
		{
			name:     "CRLF, LF, CR; a sentence split across reads gets the later read's time",
			chunks:   []string{sec(1) + "\r\n" + sec(2)[:20], sec(2)[20:] + "\n" + sec(3) + "\r", ubxGSA + "\r\n"},
			wantSecs: []int{1, 2, 3},
			wantRx:   []time.Duration{time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond},
			counts:   NMEACounts{Lines: 4, TimeMsgs: 3},
		},
		{
			name: "binary noise, an overlong run without terminator, then a sentence",
			chunks: []string{"\xb5\x62\x01\x07" + strings.Repeat("\x00\xff", 400), sec(4) + "\r\n",
				strings.Repeat("x", 300) + "\r\n" + sec(5) + "\r\n"},
			wantSecs: []int{4, 5},
			wantRx:   []time.Duration{3 * time.Millisecond, 4 * time.Millisecond}, // the noise takes two reads
			counts:   NMEACounts{Overlong: 2, TimeMsgs: 2},
		},
		{
			name:     "checksum errors and junk lines are dropped",
			chunks:   []string{strings.Replace(sec(6), "A,,", "V,,", 1) + "\r\nhello\r\n" + sec(7) + "\r\n"},
			wantSecs: []int{7},
			wantRx:   []time.Duration{time.Millisecond},
			counts:   NMEACounts{Checksum: 1, Noise: 1, TimeMsgs: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewNMEAReader(&chunkReader{chunks: tc.chunks}, NMEAConfig{}, stepClock())
			msgs, err := collect(t, r)
			if !errors.Is(err, io.EOF) {
				t.Errorf("Run = %v, want EOF", err)
			}
			if len(msgs) != len(tc.wantSecs) {
				t.Fatalf("got %d messages %+v, want seconds %v; %+v", len(msgs), msgs, tc.wantSecs, r.Stats().Snapshot())
			}
			for i, m := range msgs {
				if m.UTC.Second() != tc.wantSecs[i] || m.Received.Sub(t0) != tc.wantRx[i] {
					t.Errorf("message %d: UTC %v Received +%v, want second %d +%v", i, m.UTC, m.Received.Sub(t0), tc.wantSecs[i], tc.wantRx[i])
				}
			}
			compareCounts(t, r.Stats().Snapshot(), tc.counts)
		})
	}
}

func TestNMEAReaderStopsOnContext(t *testing.T) {
	// out is never drained: Run must return on cancel, not block.
	ctx, cancel := context.WithCancel(context.Background())
	r := NewNMEAReader(&chunkReader{chunks: []string{ubxRMC + "\r\n" + ubxGNS + "\r\n"}}, NMEAConfig{}, stepClock())
	done := make(chan error)
	go func() { done <- r.Run(ctx, make(chan TimeMsg)) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// fakeDev is a device whose reads come from a pipe the test writes.
type fakeDev struct {
	*io.PipeReader
	w *io.PipeWriter
}

func newFakeDev() *fakeDev {
	r, w := io.Pipe()
	return &fakeDev{r, w}
}

// opener fails its first failN calls, then hands out the devs in order.
type opener struct {
	mu    sync.Mutex
	failN int
	devs  []*fakeDev
	calls int
}

func (o *opener) open() (io.ReadCloser, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.failN > 0 {
		o.failN--
		return nil, errors.New("no such device")
	}
	if len(o.devs) == 0 {
		return nil, errors.New("gone for good")
	}
	d := o.devs[0]
	o.devs = o.devs[1:]
	return d, nil
}

func TestReopenReaderBackoffAndReopen(t *testing.T) {
	d1, d2 := newFakeDev(), newFakeDev()
	o := &opener{failN: 3, devs: []*fakeDev{d1, d2}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewReopenReader(ctx, o.open, ReopenConfig{MinBackoff: 100 * time.Millisecond, MaxBackoff: 250 * time.Millisecond}, nil)
	var mu sync.Mutex
	var sleeps []time.Duration
	r.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, d)
		mu.Unlock()
		return ctx.Err()
	}
	go func() {
		d1.w.Write([]byte("first"))
		d1.w.CloseWithError(errors.New("input/output error")) // device vanished mid-stream
		d2.w.Write([]byte("second"))
	}()
	buf := make([]byte, 64)
	var got []string
	for len(got) < 2 {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		got = append(got, string(buf[:n]))
	}
	if got[0] != "first" || got[1] != "second" {
		t.Errorf("read %q", got)
	}
	mu.Lock()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 100 * time.Millisecond}
	if len(sleeps) != len(want) {
		t.Fatalf("backoffs %v, want %v", sleeps, want)
	}
	for i := range want {
		if sleeps[i] != want[i] {
			t.Errorf("backoffs %v, want %v", sleeps, want)
		}
	}
	mu.Unlock()
	if st := r.Stats(); st.Opens != 2 || st.OpenErrors != 3 || st.ReadErrors != 1 {
		t.Errorf("%+v", st)
	}
	// Cancelling unblocks the pending Read on d2 and closes it.
	done := make(chan error)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v", err)
	}
	if _, err := d2.w.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("device not closed: write = %v", err)
	}
}

func TestReopenReaderClose(t *testing.T) {
	d := newFakeDev()
	o := &opener{devs: []*fakeDev{d}}
	r := NewReopenReader(context.Background(), o.open, ReopenConfig{}, nil)
	if n, err := r.Read(nil); n != 0 || err != nil || o.calls != 0 {
		t.Errorf("empty Read = %d, %v after %d opens; want 0, nil without opening", n, err, o.calls)
	}
	done := make(chan error)
	go func() {
		_, err := r.Read(make([]byte, 8))
		done <- err
	}()
	go d.w.Write([]byte("a")) // ensure the device is open before Close
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, ErrReaderClosed) {
		t.Errorf("Read after Close = %v", err)
	}
}

func TestReopenConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg ReopenConfig
		ok  bool
	}{
		{ReopenConfig{}, true},
		{DefaultReopenConfig(), true},
		{ReopenConfig{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, false},
		{ReopenConfig{MinBackoff: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v", tc.cfg, err)
		}
	}
}
