package ntpclient

import (
	"errors"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/source"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// reply builds a server reply to a request with transmit timestamp xmt,
// received at server time t2 and sent at t3.
func reply(xmt ntp.Time, t2, t3 time.Time, mod func(h *ntp.Header)) []byte {
	h := ntp.Header{Version: 4, Mode: ntp.ModeServer, Stratum: 1, RefID: ntp.RefIDPPS, PollLog2: 6, PrecisionLog2: -20,
		RootDispersion: ntp.ShortFromDuration(100 * time.Microsecond),
		OriginTime:     xmt, ReceiveTime: ntp.FromTime(t2), TransmitTime: ntp.FromTime(t3)}
	if mod != nil {
		mod(&h)
	}
	b := make([]byte, ntp.HeaderLen)
	ntp.Encode(&h, b)
	return b
}

// A server 5 ms ahead over a 2 ms symmetric path: offset +5 ms, delay
// 2 ms (server time excluded), local midpoint.
func TestCheckOffsetAndDelay(t *testing.T) {
	xmt := ntp.Time(0x1234567890abcdef)
	t1 := t0
	t2 := t1.Add(time.Millisecond + 5*time.Millisecond) // server clock +5 ms
	t3 := t2.Add(300 * time.Microsecond)
	t4 := t1.Add(2*time.Millisecond + 300*time.Microsecond)
	m, err := Check(reply(xmt, t2, t3, nil), xmt, t1, t4, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b time.Duration) bool { return (a - b).Abs() < 10*time.Nanosecond }
	if !near(m.Offset, 5*time.Millisecond) || !near(m.Delay, 2*time.Millisecond) || m.Stratum != 1 || m.RefID != ntp.RefIDPPS {
		t.Fatalf("measurement %+v", m)
	}
	if d := m.Local.Sub(t1); !near(d, 1150*time.Microsecond) {
		t.Errorf("midpoint %v after T1", d)
	}
}

func TestCheckRefuses(t *testing.T) {
	xmt := ntp.Time(42)
	t2 := t0.Add(time.Millisecond)
	t4 := t0.Add(2 * time.Millisecond)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", make([]byte, 47), ntp.ErrShort},
		{"mode 3", reply(xmt, t2, t2, func(h *ntp.Header) { h.Mode = ntp.ModeClient }), ErrNotServer},
		{"spoofed origin", reply(xmt+1, t2, t2, nil), ErrBogusOrigin},
		{"stratum 16", reply(xmt, t2, t2, func(h *ntp.Header) { h.Stratum = 16 }), ErrStratum},
		{"leap 3", reply(xmt, t2, t2, func(h *ntp.Header) { h.Leap = 3 }), ErrUnsynced},
		{"no transmit", reply(xmt, t2, t2, func(h *ntp.Header) { h.TransmitTime = 0 }), ErrNoTransmit},
		{"far root", reply(xmt, t2, t2, func(h *ntp.Header) { h.RootDispersion = ntp.ShortFromDuration(2 * time.Second) }), ErrDistance},
		{"negative delay", reply(xmt, t2, t2.Add(5*time.Millisecond), nil), ErrRoundTrip},
	} {
		if _, err := Check(tc.b, xmt, t0, t4, DefaultLimits()); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	var k *KissError
	_, err := Check(reply(xmt, t2, t2, func(h *ntp.Header) { h.Stratum = 0; h.RefID = ntp.KissRate; h.PollLog2 = 9 }), xmt, t0, t4, DefaultLimits())
	if !errors.As(err, &k) || k.Code != ntp.KissRate || k.PollLog2 != 9 {
		t.Errorf("RATE kiss: %v", err)
	}
}

func measurement(at time.Time, off, delay time.Duration) Measurement {
	return Measurement{Local: at, Offset: off, Delay: delay, Stratum: 1, RefID: ntp.RefIDPPS, PrecisionLog2: -20, PollLog2: 6}
}

// iburst, then the poll grows from 64 s while every request is answered;
// the reach register counts answers; the filter hands out the
// minimum-delay sample.
func TestPeerPollReachFilter(t *testing.T) {
	p, err := NewPeer("a:123", DefaultPeerConfig(), t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	var samples []source.Sample
	for i := range 40 {
		if !p.Next().After(now) {
			now = p.Next()
		}
		p.Sent(now)
		delay := 2 * time.Millisecond
		if i%3 == 1 {
			delay = 10 * time.Millisecond // a congested exchange
		}
		if s, ok := p.Received(measurement(now.Add(delay/2), time.Duration(i)*time.Microsecond, delay), nil, now.Add(delay)); ok {
			samples = append(samples, s)
		}
		if i < IBurstCount-1 && p.Next().Sub(now) != IBurstInterval {
			t.Fatalf("iburst request %d: next after %v", i, p.Next().Sub(now))
		}
		now = p.Next()
	}
	if st := p.Status(); st.Reach != 0xff || st.PollLog2 != DefaultMaxPollLog2 || st.Sent != 40 {
		t.Errorf("after 40 answered polls: %+v", st)
	}
	// While polls are short the congested exchanges never win; at long
	// polls an old sample's dispersion (PHI x age) can outgrow a fresh
	// congested one, as RFC 5905 section 10 intends.
	for _, s := range samples[:4] {
		if s.Delay != 2*time.Millisecond || s.Kind != source.KindNTP || s.Source != "a:123" || s.Stratum != 1 {
			t.Fatalf("filter handed out %+v", s)
		}
	}
	if len(samples) < 20 {
		t.Errorf("only %d samples from 40 answers", len(samples))
	}
	// Silence: the register empties and the poll falls back.
	for range 8 {
		now = p.Next()
		p.Sent(now)
	}
	if !p.Unreachable() || p.Status().Reach != 0 {
		t.Errorf("after 8 unanswered polls: reach %#x unreachable %v", p.Status().Reach, p.Unreachable())
	}
}

func TestPeerKiss(t *testing.T) {
	p, _ := NewPeer("a:123", DefaultPeerConfig(), t0)
	p.Sent(t0)
	p.Received(Measurement{}, &KissError{Code: ntp.KissRate, PollLog2: 8}, t0.Add(time.Millisecond))
	if p.PollLog2() != 8 || p.Next().Sub(t0) < 256*time.Second {
		t.Errorf("RATE: poll %d, next in %v", p.PollLog2(), p.Next().Sub(t0))
	}
	p.Received(Measurement{}, &KissError{Code: ntp.KissDeny}, t0.Add(time.Second))
	if !p.Next().IsZero() || p.Status().Stopped == nil {
		t.Error("DENY did not stop the peer")
	}
}

func FuzzCheck(f *testing.F) {
	xmt := ntp.Time(7)
	f.Add(reply(xmt, t0, t0, nil))
	f.Add(make([]byte, 48))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Check(b, xmt, t0, t0.Add(time.Millisecond), DefaultLimits())
		if err == nil && (m.Delay < 0 || m.Delay > time.Second || m.Stratum == 0 || m.Stratum > 15) {
			t.Fatalf("accepted %+v", m)
		}
	})
}
