package views

import (
	"fmt"
	"time"
)

// PoolAnswer is one monitor check of a server: the best (shortest round
// trip) of its queries.
type PoolAnswer struct {
	// Answered is false when no query got a reply.
	Answered bool
	// Kiss is the kiss code of a kiss-o'-death reply ("RATE", "DENY",
	// "RSTR", ...; "" for a time reply).
	Kiss string
	// Stratum, Leap and Offset (server - local) are the reply's; RTT its
	// round trip.
	Stratum uint8
	Leap    uint8
	Offset  time.Duration
	RTT     time.Duration
}

// The pool's scoring as its monitor applies it: a step per check, the
// score decaying by PoolDecay, a server in DNS above PoolInDNS.
const (
	PoolDecay = 0.95
	PoolInDNS = 10.0
	// PoolMax is where a perfect server's score converges (1 / (1 - decay)).
	PoolMax = 20.0
)

// PoolStep scores one check: +1 within 25 ms; from 25 to 100 ms falling
// linearly from +1 to 0; -2 beyond 100 ms; -4 beyond 750 ms; -100 beyond
// 3 s (a server that far off is taken out at once); a RATE kiss -3.5; a
// DENY or RSTR kiss -10; no answer -5; stratum 0 or 16 (or the leap alarm)
// -4 as unsynchronised; stratum above 7 -2. It returns the step and why.
func PoolStep(a PoolAnswer) (step float64, reason string) {
	switch {
	case !a.Answered:
		return -5, "no answer (-5)"
	case a.Kiss == "RATE":
		return -3.5, "kiss-o'-death RATE: rate limited (-3.5)"
	case a.Kiss == "DENY" || a.Kiss == "RSTR":
		return -10, fmt.Sprintf("kiss-o'-death %s: access denied (-10)", a.Kiss)
	case a.Kiss != "":
		return -5, fmt.Sprintf("kiss-o'-death %q (-5, as no answer)", a.Kiss)
	case a.Stratum == 0 || a.Stratum >= 16 || a.Leap == 3:
		return -4, fmt.Sprintf("not synchronised: stratum %d, leap %d (-4)", a.Stratum, a.Leap)
	case a.Stratum > 7:
		return -2, fmt.Sprintf("stratum %d above 7 (-2)", a.Stratum)
	}
	off := a.Offset.Abs()
	switch {
	case off > 3*time.Second:
		return -100, fmt.Sprintf("offset %v beyond 3 s (-100)", a.Offset)
	case off > 750*time.Millisecond:
		return -4, fmt.Sprintf("offset %v beyond 750 ms (-4)", a.Offset)
	case off > 100*time.Millisecond:
		return -2, fmt.Sprintf("offset %v beyond 100 ms (-2)", a.Offset)
	case off > 25*time.Millisecond:
		s := 1 - float64(off-25*time.Millisecond)/float64(75*time.Millisecond)
		return s, fmt.Sprintf("offset %v beyond 25 ms (%+.2f)", a.Offset, s)
	}
	return 1, fmt.Sprintf("offset %v within 25 ms (+1)", a.Offset)
}

// PoolScore is the score after a step from old: step + PoolDecay * old,
// never below -100 (the pool's floor).
func PoolScore(old, step float64) float64 {
	return max(step+PoolDecay*old, -100)
}

// PoolBest returns the answer with the shortest round trip, a kiss if all
// answers were kisses, or an unanswered PoolAnswer if none came.
func PoolBest(answers []PoolAnswer) PoolAnswer {
	var best PoolAnswer
	for _, a := range answers {
		switch {
		case !a.Answered:
		case !best.Answered:
			best = a
		case best.Kiss != "" && a.Kiss == "":
			best = a
		case (a.Kiss == "") == (best.Kiss == "") && a.RTT < best.RTT:
			best = a
		}
	}
	return best
}
