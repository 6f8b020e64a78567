package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/pty"
	"github.com/gnomon-ntp/gnomon/internal/simhat"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
	"github.com/gnomon-ntp/gnomon/views"
)

// syncBuffer is a log sink safe for the views' goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noFix is what a receiver without a fix sends each second: RMC status V
// with its RTC's time and date, GGA quality 0, and a GSV of weak
// satellites.
func noFix(sec time.Time) []string {
	hms, dmy := sec.Format("150405.00"), sec.Format("020106")
	return []string{
		simhat.Sentence("GPRMC," + hms + ",V,,,,,,," + dmy + ",,,N"),
		simhat.Sentence("GPGGA," + hms + ",,,,,0,00,99.99,,,,,,"),
		simhat.Sentence("GPGSV,1,1,02,05,,,12,07,,,09"),
	}
}

// TestWiringWarnings runs the real refclock over a pseudo-terminal fed as
// each wiring fault feeds a serial port, and checks that the views warn
// with the fault's cause within 30 s, and raise no fault further down the
// chain than the one that is wrong.
func TestWiringWarnings(t *testing.T) {
	cases := []struct {
		name string
		// feed writes into the terminal every second.
		feed func(w io.Writer, sec time.Time, rng *rand.Rand)
		// edges: the PPS source pulses each second.
		edges bool
		want  views.Fault
		cause string
	}{
		{"silence", func(io.Writer, time.Time, *rand.Rand) {}, true, views.FaultNoBytes, "no bytes on the serial port"},
		{"random bytes (wrong baud rate)", func(w io.Writer, _ time.Time, rng *rand.Rand) {
			b := make([]byte, 960) // 9600 baud, 8N1, for a second
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			w.Write(b)
		}, true, views.FaultNoSentences, "wrong baud rate"},
		{"sentences without a fix", func(w io.Writer, sec time.Time, _ *rand.Rand) {
			for _, l := range noFix(sec) {
				io.WriteString(w, l)
			}
		}, true, views.FaultNoFix, "no valid fix"},
		{"no PPS", func(w io.Writer, sec time.Time, _ *rand.Rand) {
			for _, l := range simhat.Sentences(sec) {
				io.WriteString(w, l)
			}
		}, false, views.FaultNoPPS, "no PPS edges"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			serial, err := os.Open(tty.Path)
			if err != nil {
				t.Fatal(err)
			}
			edges := make(chan pps.Edge, 4)
			dev, err := refclock.NewDevice(refclock.DefaultConfig(), refclock.Devices{Serial: serial, PPS: pps.NewSim(edges, time.Microsecond)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := make(chan source.Sample, 64)
			go func() {
				for range out {
				}
			}()
			go dev.Run(ctx, time.Now, out)
			// The receiver: a pulse on each second, the feed 0.2 s later.
			go func() {
				rng := rand.New(rand.NewPCG(1, 2))
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case now := <-tick.C:
						sec := now.Truncate(time.Second)
						if c.edges {
							select {
							case edges <- pps.Edge{Time: now, Assert: true}:
							default:
							}
						}
						time.Sleep(200 * time.Millisecond)
						tty.Master.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
						c.feed(tty.Master, sec.UTC(), rng)
					}
				}
			}()
			synced := &discipline.SyncState{Synced: true, Stratum: 1, RefID: ntp.RefIDPPS}
			coll := status.NewCollector(status.Parts{Sync: func() *discipline.SyncState { return synced }, Refclock: dev.Status}, time.Now())
			var logBuf syncBuffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			cfg := Config{HasPPS: true}
			v := New(coll.Snapshot, cfg, log)
			go v.Run(ctx, cfg)
			start := time.Now()
			for time.Since(start) < 30*time.Second {
				time.Sleep(500 * time.Millisecond)
				if strings.Contains(logBuf.String(), "fault="+c.want.Name()) {
					break
				}
			}
			logged := logBuf.String()
			if !strings.Contains(logged, "level=WARN") || !strings.Contains(logged, c.cause) || !strings.Contains(logged, "fault="+c.want.Name()) {
				t.Fatalf("no warning %q (%s) within 30 s:\n%s", c.cause, c.want.Name(), logged)
			}
			t.Logf("warned after %v", time.Since(start).Round(100*time.Millisecond))
			for _, f := range v.Faults() {
				if f != c.want {
					t.Errorf("fault %s raised too; only %s is wrong", f.Name(), c.want.Name())
				}
			}
			if !strings.Contains(logged, "msg=status") {
				t.Errorf("no status line on the fault's change:\n%s", logged)
			}
			if r := v.Report(); len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], c.cause) {
				t.Errorf("report warnings %q", r.Warnings)
			}
		})
	}
}

// TestProbeBaud: the probe skips the configured rate, passes over a rate
// that reads noise and one that fails to open, and names the rate whose
// lines carry valid checksums.
func TestProbeBaud(t *testing.T) {
	var good strings.Builder
	for i := range 5 {
		for _, l := range simhat.Sentences(time.Date(2026, 11, 25, 8, 0, i, 0, time.UTC)) {
			good.WriteString(l)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 4000)
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}
	var opened []int
	open := func(baud int) (io.ReadCloser, error) {
		opened = append(opened, baud)
		switch baud {
		case 38400:
			return io.NopCloser(strings.NewReader(good.String())), nil
		case 4800:
			return nil, fmt.Errorf("no such rate")
		}
		return io.NopCloser(bytes.NewReader(noise)), nil
	}
	b, err := ProbeBaud(context.Background(), open, ProbeBauds, 9600, time.Second)
	if b != 38400 || err != nil {
		t.Fatalf("probe: %d, %v; want 38400", b, err)
	}
	if fmt.Sprint(opened) != "[4800 38400]" {
		t.Errorf("opened %v, want [4800 38400] (9600 is the configured rate)", opened)
	}
	b, err = ProbeBaud(context.Background(), open, []int{9600, 4800, 115200}, 9600, time.Second)
	if b != 0 || err == nil {
		t.Errorf("no decoding rate: got %d, %v; want 0 and the open error", b, err)
	}
}
