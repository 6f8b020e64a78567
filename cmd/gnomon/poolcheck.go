package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/views"
)

// poolcheckCmd is "gnomon poolcheck [flags] [HOST[:PORT]]": the NTP pool
// monitor's check run locally, repeatedly, printing each step and the
// running score.
func poolcheckCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gnomon poolcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interval := fs.Duration("interval", 15*time.Minute, "time between checks (the pool checks every 15 min or so)")
	count := fs.Int("count", 0, "stop after `n` checks (0: run until interrupted)")
	spacing := fs.Duration("spacing", 2*time.Second, "time between the three queries of a check")
	timeout := fs.Duration("timeout", 2*time.Second, "how long each query waits for a reply")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gnomon poolcheck [flags] [HOST[:PORT]]   (default 127.0.0.1:123)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "gnomon poolcheck: one HOST at most, got %q\n", fs.Args())
		return 2
	}
	target := "127.0.0.1"
	if fs.NArg() == 1 {
		target = fs.Arg(0)
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(strings.Trim(target, "[]"), "123")
	}
	ctx, stop := monitorContext()
	defer stop()
	fmt.Fprintf(stdout, "checking %s as the NTP pool's monitor does: 3 queries %v apart, best round trip, score = step + %.2f x score, in DNS above %.0f\n",
		target, *spacing, views.PoolDecay, views.PoolInDNS)
	score := 0.0
	for n := 1; *count == 0 || n <= *count; n++ {
		var answers []views.PoolAnswer
		for q := range 3 {
			if q > 0 && sleepCtx(ctx, *spacing) != nil {
				return 0
			}
			a, err := poolQuery(target, *timeout)
			if err != nil {
				fmt.Fprintf(stdout, "  query %d: %v\n", q+1, err)
			}
			answers = append(answers, a)
		}
		best := views.PoolBest(answers)
		step, reason := views.PoolStep(best)
		score = views.PoolScore(score, step)
		dns := "not in DNS"
		if score > views.PoolInDNS {
			dns = "in DNS"
		}
		rtt := "-"
		if best.Answered {
			rtt = best.RTT.Round(time.Microsecond).String()
		}
		fmt.Fprintf(stdout, "check %d: %s; rtt %s; step %+.2f, score %.2f (%s)\n", n, reason, rtt, step, score, dns)
		if *count != 0 && n == *count {
			break
		}
		if sleepCtx(ctx, *interval) != nil {
			return 0
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// poolQuery sends one NTPv4 client request to addr and reads the reply:
// offset and round trip from the four timestamps (RFC 5905 section 8), or
// the kiss code.
func poolQuery(addr string, timeout time.Duration) (views.PoolAnswer, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return views.PoolAnswer{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	// The transmit timestamp is random, as RFC 9109 asks of a client; the
	// reply must echo it.
	var req [ntp.HeaderLen]byte
	ntp.Encode(&ntp.Header{Version: 4, Mode: ntp.ModeClient}, req[:])
	rand.Read(req[40:48])
	t1 := time.Now()
	if _, err := c.Write(req[:]); err != nil {
		return views.PoolAnswer{}, err
	}
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		t4 := time.Now()
		if err != nil {
			return views.PoolAnswer{}, err
		}
		var h ntp.Header
		if ntp.Decode(buf[:n], &h) != nil || h.Mode != ntp.ModeServer || string(buf[24:32]) != string(req[40:48]) {
			continue // not the answer to this request
		}
		a := views.PoolAnswer{Answered: true, Stratum: h.Stratum, Leap: h.Leap}
		if h.Stratum == 0 {
			a.Kiss = strings.TrimRight(string(h.RefID[:]), "\x00")
			return a, nil
		}
		t2, t3 := h.ReceiveTime.TimeNear(t1), h.TransmitTime.TimeNear(t1)
		a.Offset = (t2.Sub(t1) + t3.Sub(t4)) / 2
		a.RTT = t4.Sub(t1) - t3.Sub(t2)
		return a, nil
	}
}
