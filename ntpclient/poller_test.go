package ntpclient

import (
	"context"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

type systemClock struct{}

func (systemClock) Now() time.Time                   { return time.Now() }
func (systemClock) FromSystem(t time.Time) time.Time { return t }

// Against servers on loopback: an honest one's samples carry its offset
// (here 0, to within loopback noise) and its address as refid; a liar 250 ms
// ahead shows +250 ms; a server echoing a wrong origin gives nothing.
func TestPollerLoopback(t *testing.T) {
	honest := testpeer.StartNTPServer(t, 0)
	liar := testpeer.StartNTPServer(t, 250*time.Millisecond)
	spoof := testpeer.StartNTPServer(t, 0)
	spoof.SetBogusOrigin(true)
	var ups []Upstream
	for _, s := range []*testpeer.NTPServer{honest, liar, spoof} {
		u, err := ParseUpstream("server " + s.Addr.String() + " iburst")
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u)
	}
	p, err := NewPoller(ups, systemClock{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	out := make(chan source.Sample, 64)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	got := map[source.ID][]source.Sample{}
	for {
		select {
		case s := <-out:
			got[s.Source] = append(got[s.Source], s)
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		}
		break
	}
	ids := p.PeerIDs()
	h, l, sp := got[ids[0]], got[ids[1]], got[ids[2]]
	if len(h) < 2 || len(l) < 2 {
		t.Fatalf("samples: honest %d, liar %d", len(h), len(l))
	}
	for _, s := range h {
		if s.Offset.Abs() > 5*time.Millisecond || s.Kind != source.KindNTP || s.Stratum != 1 || s.RefID != ntp.RefIDFromAddr(honest.Addr.Addr()) || s.Delay <= 0 {
			t.Errorf("honest sample %+v", s)
		}
	}
	for _, s := range l {
		if (s.Offset - 250*time.Millisecond).Abs() > 5*time.Millisecond {
			t.Errorf("liar sample offset %v", s.Offset)
		}
	}
	if len(sp) != 0 || spoof.Answered.Load() == 0 {
		t.Errorf("spoofed replies gave %d samples (%d answered)", len(sp), spoof.Answered.Load())
	}
	st := p.Statuses()
	if st[0].Status.Reach == 0 || st[2].Status.Reach != 0 || st[0].Addr != honest.Addr {
		t.Errorf("statuses %+v", st)
	}
}

func TestParseUpstream(t *testing.T) {
	u, err := ParseUpstream("server 192.0.2.1 port 1123 prefer minpoll 4 maxpoll 8")
	if err != nil || u.Host != "192.0.2.1" || u.Port != 1123 || !u.Peer.Prefer || !u.Peer.IBurst || u.Peer.MinPollLog2 != 4 || u.Peer.MaxPollLog2 != 8 || u.Pool {
		t.Errorf("%+v %v", u, err)
	}
	u, err = ParseUpstream("pool pool.ntp.org noiburst")
	if err != nil || !u.Pool || u.Host != "pool.ntp.org" || u.Port != 123 || u.Peer.IBurst {
		t.Errorf("%+v %v", u, err)
	}
	u, err = ParseUpstream("[::1]:11123")
	if err != nil || u.Host != "::1" || u.Port != 11123 {
		t.Errorf("%+v %v", u, err)
	}
	for _, bad := range []string{"", "server", "host minpoll", "host minpoll 30", "host bogus", "h:0", "host minpoll 9 maxpoll 6"} {
		if _, err := ParseUpstream(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseUpstream(f *testing.F) {
	f.Add("server 192.0.2.1 iburst minpoll 4")
	f.Add("pool [::1]:123 prefer")
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ParseUpstream(s); err == nil {
			if _, err := ParseUpstream(u.String()); err != nil {
				t.Fatalf("%q -> %q does not parse again: %v", s, u.String(), err)
			}
		}
	})
}
