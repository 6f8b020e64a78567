package status

import (
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
)

func TestReach(t *testing.T) {
	for _, tc := range []struct {
		age  time.Duration
		poll int8
		want uint8
	}{
		{0, 0, 0xff}, {900 * time.Millisecond, 0, 0xff}, {1500 * time.Millisecond, 0, 0xfe},
		{3 * time.Second, 0, 0xf8}, {8 * time.Second, 0, 0}, {100 * time.Second, 6, 0xfe}, {time.Hour, 6, 0},
	} {
		if got := Reach(tc.age, tc.poll); got != tc.want {
			t.Errorf("Reach(%v, %d) = %#x, want %#x", tc.age, tc.poll, got, tc.want)
		}
	}
}

// The collector assembles every part's snapshot into one.
func TestCollector(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 10, 0, time.UTC)
	sync := &discipline.SyncState{Synced: true, Stratum: 1, RefID: ntp.RefIDPPS}
	last := source.Sample{Source: source.RefclockID, Kind: source.KindPPS, Local: now.Add(-2 * time.Second)}
	c := NewCollector(Parts{
		Now:  func() time.Time { return now },
		Sync: func() *discipline.SyncState { return sync },
		Sources: func() []selection.SourceState {
			return []selection.SourceState{{ID: source.RefclockID, State: selection.StateSystemPeer, Last: last, Samples: 9, Used: 8},
				{ID: "192.0.2.1:123"}}
		},
		Refclock: func() refclock.Status { return refclock.Status{Locked: true, Sent: 8} },
		Server:   func() Server { return Server{Received: 5, Drops: []Drop{{"rate", 2}}} },
	}, now.Add(-10*time.Second))
	s := c.Snapshot()
	if s.Sync != sync || s.Uptime != 10*time.Second || s.Refclock == nil || !s.Refclock.Locked || s.Server.Received != 5 {
		t.Fatalf("snapshot %+v", s)
	}
	if len(s.Sources) != 2 {
		t.Fatalf("sources %+v", s.Sources)
	}
	gps, up := s.Sources[0], s.Sources[1]
	if gps.AssocID != 1 || gps.Kind != source.KindPPS || gps.Age != 2*time.Second || gps.Reach != 0xfc || gps.Used != 8 {
		t.Errorf("refclock source %+v", gps)
	}
	if up.AssocID != 2 || up.Reach != 0 || up.Age != 0 || up.State != selection.StateUnusable {
		t.Errorf("silent upstream %+v", up)
	}
	if p := s.SystemPeer(); p == nil || p.ID != source.RefclockID {
		t.Errorf("system peer %+v", p)
	}
	if s.Assoc(0) != nil || s.Assoc(3) != nil || s.Assoc(2).ID != "192.0.2.1:123" {
		t.Error("Assoc lookup")
	}
	// With no parts but the clock, a snapshot is still whole and says
	// unsynchronised.
	empty := NewCollector(Parts{Now: func() time.Time { return now }}, now).Snapshot()
	if empty.Sync == nil || empty.Sync.Synced || empty.Sync.Stratum != 16 || empty.Sync.Leap != ntp.LeapAlarm {
		t.Errorf("empty snapshot %+v", empty.Sync)
	}
	if s.Temperature != nil || empty.Temperature != nil {
		t.Errorf("a temperature section without a sensor: %+v", s.Temperature)
	}
}

// TestCollectorTemperature: a sensor's reading becomes the snapshot's
// temperature section; a part that has none (no file set) gives none.
func TestCollectorTemperature(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 10, 0, time.UTC)
	reading := discipline.Temperature{File: "/t", Celsius: 45.123, Valid: true, ReadErrors: 3,
		Fit: discipline.TempFit{SlopePPBPerC: 12.5, Trusted: true}}
	have := true
	c := NewCollector(Parts{
		Now:         func() time.Time { return now },
		Temperature: func() (discipline.Temperature, bool) { return reading, have },
	}, now)
	if s := c.Snapshot(); s.Temperature == nil || *s.Temperature != reading {
		t.Errorf("temperature %+v, want %+v", s.Temperature, reading)
	}
	have = false
	if s := c.Snapshot(); s.Temperature != nil {
		t.Errorf("temperature %+v without a sensor", s.Temperature)
	}
}
