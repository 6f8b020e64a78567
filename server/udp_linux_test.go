package server

import (
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
)

// splitClock receives an hour ahead (FromSystem) and transmits two hours
// ahead (Now), so a reply shows which clock stamped which field.
type splitClock struct{}

func (splitClock) Now() time.Time                   { return time.Now().Add(2 * time.Hour) }
func (splitClock) FromSystem(t time.Time) time.Time { return t.Add(time.Hour) }

func TestKernelReceiveTimestamps(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0"), splitClock{}, syncedState())
	before := time.Now()
	resp, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: int(r.addr(0).Port()), Timeout: 5 * time.Second})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	// Receive: the kernel's CLOCK_REALTIME stamp, mapped by FromSystem.
	if rx := resp.Timestamps.ServerRecv.Add(-time.Hour); rx.Before(before.Add(-time.Millisecond)) || rx.After(after) {
		t.Errorf("receive %v not within [%v, %v] + 1h", resp.Timestamps.ServerRecv, before, after)
	}
	// Transmit: read from the served clock, Now.
	if tx := resp.Timestamps.ServerXmit.Add(-2 * time.Hour); tx.Before(before.Add(-time.Millisecond)) || tx.After(after) {
		t.Errorf("transmit %v not within [%v, %v] + 2h", resp.Timestamps.ServerXmit, before, after)
	}
}

func TestServeNoAllocs(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0"), SystemClock{}, syncedState())
	c := dial(t, r.addr(0))
	buf := make([]byte, 128)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	exchange(t, c, ntpcap.Chrony, 5*time.Second) // warm up
	if n := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(ntpcap.Chrony); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per request answered over loopback (client and server)", n)
	}
}
