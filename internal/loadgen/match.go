package loadgen

import (
	"sync/atomic"
	"time"
)

// Matcher pairs replies with requests by the origin timestamp the server
// echoes. Request seq (0 <= seq < capacity) is sent with the transmit
// timestamp hi<<32 | seq, so every request of a run carries a unique
// timestamp and a reply finds its send time by index, without a map or lock.
// The sender and the receivers may use a Matcher concurrently.
type Matcher struct {
	hi   uint64
	sent []atomic.Int64 // send time in ns since the run's start, +1; 0 = not sent; -1 = answered
}

// MatchResult says what a reply's origin timestamp matched.
type MatchResult uint8

// Match results.
const (
	// Matched: the reply answers a request sent in this run, first time.
	Matched MatchResult = iota
	// Unknown: the origin is not a timestamp this run sent (or the request
	// was never handed to the kernel).
	Unknown
	// Duplicate: the request was already answered.
	Duplicate
)

// NewMatcher makes a Matcher for at most capacity requests (capacity <=
// 2^32); hi is the high 32 bits of every transmit timestamp, normally the
// NTP seconds at the start of the run.
func NewMatcher(hi uint32, capacity int) *Matcher {
	return &Matcher{hi: uint64(hi) << 32, sent: make([]atomic.Int64, capacity)}
}

// Cap returns the most requests the Matcher can track.
func (m *Matcher) Cap() int { return len(m.sent) }

// Xmt returns the transmit timestamp for request seq.
func (m *Matcher) Xmt(seq int) uint64 { return m.hi | uint64(uint32(seq)) }

// Sent records that request seq left at elapsed (time since the run's start).
func (m *Matcher) Sent(seq int, elapsed time.Duration) {
	m.sent[seq].Store(int64(elapsed) + 1)
}

// Unsent forgets request seq (its send failed), so a reply cannot match it.
func (m *Matcher) Unsent(seq int) { m.sent[seq].Store(0) }

// Match looks up the request a reply with this origin timestamp answers,
// received at elapsed, and returns the latency from send to receive.
func (m *Matcher) Match(origin uint64, elapsed time.Duration) (time.Duration, MatchResult) {
	if origin&^0xffffffff != m.hi {
		return 0, Unknown
	}
	seq := origin & 0xffffffff
	if seq >= uint64(len(m.sent)) {
		return 0, Unknown
	}
	s := &m.sent[seq]
	for {
		v := s.Load()
		switch {
		case v == 0:
			return 0, Unknown
		case v < 0:
			return 0, Duplicate
		}
		if s.CompareAndSwap(v, -1) {
			return elapsed - time.Duration(v-1), Matched
		}
	}
}
