package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's resolution: 2^subBits buckets per power of
// two, so a quantile is within 1/128 (0.8%) of the true value.
const subBits = 7

const (
	subCount = 1 << subBits
	nBuckets = (64 - subBits + 1) * subCount
)

// Histogram counts latencies in log-linear buckets (exact below 128 ns,
// then 128 buckets per octave). Its zero value is ready; it is not safe for
// concurrent use: keep one per goroutine and Merge them.
type Histogram struct {
	counts [nBuckets]uint64
	n      uint64
	max    time.Duration
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [128, 256)
	return (e+1)*subCount + int(v>>e) - subCount
}

// bucketHigh returns the largest value in bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return (m+1)<<e - 1
}

// bucketLow returns the smallest value in bucket i.
func bucketLow(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	return uint64(i%subCount+subCount) << e
}

// Record adds one latency (negative values count as 0).
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

// Count returns how many latencies were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest latency recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Quantile returns the q-quantile (0 <= q <= 1) by the nearest-rank method:
// the smallest recorded value v with at least ceil(q*n) values <= v, given as
// its bucket's midpoint (never above Max). It returns 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			mid := time.Duration((bucketLow(i) + bucketHigh(i)) / 2)
			return min(mid, h.max)
		}
	}
	return h.max
}
