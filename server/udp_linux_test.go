package server

import (
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
)

// splitClock maps system clock readings an hour ahead (FromSystem) and
// reads two hours ahead (Now), so a reply shows which stamped which field.
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
	// Transmit: a system clock reading (plus a learnt lag under 1 ms),
	// mapped by FromSystem like the kernel's transmit stamps it is
	// calibrated against.
	if tx := resp.Timestamps.ServerXmit.Add(-time.Hour); tx.Before(before.Add(-time.Millisecond)) || tx.After(after.Add(time.Millisecond)) {
		t.Errorf("transmit %v not within [%v, %v] + 1h", resp.Timestamps.ServerXmit, before, after)
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
