package loadgen

import (
	"fmt"
	"math"
	"time"
)

// Plan is an open-loop pacing plan: Rate requests a second for Duration, at
// most MaxCount in all.
type Plan struct {
	Rate     float64
	Duration time.Duration
	MaxCount int
}

// Total returns how many requests the plan sends.
func (p Plan) Total() int {
	n := math.Floor(p.Rate * p.Duration.Seconds())
	if n > float64(p.MaxCount) {
		return p.MaxCount
	}
	return int(n)
}

// Due returns how many requests should have been sent by elapsed: the first
// at 0, then one every 1/Rate, so a late sender catches up (in bursts the
// caller bounds) rather than losing its offered rate.
func (p Plan) Due(elapsed time.Duration) int {
	if elapsed < 0 {
		return 0
	}
	n := math.Floor(p.Rate*elapsed.Seconds()) + 1
	if t := p.Total(); n > float64(t) {
		return t
	}
	return int(n)
}

// NextAt returns when request number sent (0-based) is due.
func (p Plan) NextAt(sent int) time.Duration {
	return time.Duration(float64(sent) / p.Rate * float64(time.Second))
}

// Steps returns the offered rates from, from+step, ... up to and including
// to; at most maxSteps of them.
func Steps(from, to, step, maxSteps int) ([]int, error) {
	if from <= 0 || to < from || step <= 0 {
		return nil, fmt.Errorf("loadgen: rate steps %d..%d by %d: need 0 < from <= to and step > 0", from, to, step)
	}
	var r []int
	for v := from; v <= to; v += step {
		if len(r) == maxSteps {
			return nil, fmt.Errorf("loadgen: rate steps %d..%d by %d: more than %d steps", from, to, step, maxSteps)
		}
		r = append(r, v)
	}
	return r, nil
}
