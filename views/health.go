package views

import (
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/refclock"
)

// Fault is a wiring or health condition the Health watcher names.
type Fault uint8

// Faults, in the order a signal travels.
const (
	// FaultNoBytes: nothing at all on the serial port.
	FaultNoBytes Fault = iota
	// FaultNoSentences: bytes, but no line with a valid checksum.
	FaultNoSentences
	// FaultNoFix: valid sentences, but the receiver has no valid fix.
	FaultNoFix
	// FaultNoPPS: no PPS edge while a PPS source is configured.
	FaultNoPPS
	// FaultUnnumbered: PPS edges, but none numbered by an NMEA second.
	FaultUnnumbered
	// FaultNotSynced: the clock lost (or never had) its lock.
	FaultNotSynced
	numFaults
)

// Faults lists every fault, in order.
var Faults = []Fault{FaultNoBytes, FaultNoSentences, FaultNoFix, FaultNoPPS, FaultUnnumbered, FaultNotSynced}

// Cause says what a fault most likely means and what to check.
func (f Fault) Cause() string {
	switch f {
	case FaultNoBytes:
		return "no bytes on the serial port: wrong device (board.serial_path), the login console still on the UART (raspi-config: serial login shell off), the receiver unpowered or TX not wired to the Pi's RX"
	case FaultNoSentences:
		return "bytes on the serial port but no valid NMEA sentence: most likely the wrong baud rate (board.baud)"
	case FaultNoFix:
		return "NMEA sentences but no valid fix: check the antenna and its cable, give it a view of the sky; a cold start can take 15 minutes to a first fix"
	case FaultNoPPS:
		return "no PPS edges: check the dtoverlay=pps-gpio line and its gpiopin in config.txt, board.pps_device, the wire from the receiver's PPS pin, and that the receiver has a fix (many only pulse with one)"
	case FaultUnnumbered:
		return "PPS edges but none numbered by an NMEA second: the sentence arrives outside the expected delay after the pulse (refclock.nmea_delay out of range), or the edge polarity is wrong (board.pps_edge)"
	case FaultNotSynced:
		return "clock not synchronised to its reference"
	}
	return "unknown"
}

// Name is the fault's short name (for metrics and JSON).
func (f Fault) Name() string {
	return [...]string{"no_bytes", "no_sentences", "no_fix", "no_pps", "unnumbered", "not_synced", "unknown"}[min(f, numFaults)]
}

// HealthEvent is a change of a fault: raised (Raised true) or cleared.
type HealthEvent struct {
	Fault  Fault
	Raised bool
	// Since is when the condition began (raised) or when it was raised
	// (cleared).
	Since time.Time
}

// Health watches the refclock's counters and the sync state and raises a
// fault once its condition has held for After, and clears it when it ends.
// The zero value is not usable; use NewHealth. Not safe for concurrent use.
type Health struct {
	after  time.Duration
	wiring Wiring
	start  time.Time
	// last counters and when each last moved.
	prev          refclock.Status
	seen          bool
	linesMoved    time.Time
	goodMoved     time.Time
	validSince    time.Time
	edgesMoved    time.Time
	numberedMoved time.Time
	syncedAt      time.Time
	active        [numFaults]time.Time
	raised        [numFaults]bool
}

// DefaultHealthAfter is how long a condition holds before it is raised:
// well inside the 30 s an operator waits, well beyond a second's jitter.
const DefaultHealthAfter = 20 * time.Second

// Wiring is what the refclock is wired to, so Health raises only the
// faults that can happen on it.
type Wiring struct {
	// PPS says a PPS source is configured (else no PPS is no fault).
	PPS bool
	// NoNMEA says there is no receiver UART: a bare PPS wire numbered from
	// NTP time, where silence on the serial port is no fault and a pulse
	// counts as numbered when NTP time numbered it.
	NoNMEA bool
}

// NewHealth returns a watcher starting at start; after (0: default) is
// how long a condition must hold; hasPPS says a PPS source is configured.
func NewHealth(start time.Time, after time.Duration, hasPPS bool) *Health {
	return NewHealthWired(start, after, Wiring{PPS: hasPPS})
}

// NewHealthWired is NewHealth for the refclock's wiring w.
func NewHealthWired(start time.Time, after time.Duration, w Wiring) *Health {
	if after <= 0 {
		after = DefaultHealthAfter
	}
	h := &Health{after: after, wiring: w, start: start}
	h.linesMoved, h.goodMoved, h.edgesMoved, h.numberedMoved, h.syncedAt = start, start, start, start, start
	return h
}

// goodLines are lines with a valid checksum and a sentence shape.
func goodLines(c refclock.NMEACounts) uint64 {
	return c.Lines - c.Noise - c.Overlong - c.Checksum
}

// Check updates the watcher with the state at now and returns the faults
// raised or cleared since the last Check, in Fault order.
func (h *Health) Check(now time.Time, rc refclock.Status, sync *discipline.SyncState) []HealthEvent {
	if !h.seen || rc.NMEA.Lines != h.prev.NMEA.Lines {
		if h.seen {
			h.linesMoved = now
		}
	}
	if h.seen && goodLines(rc.NMEA) != goodLines(h.prev.NMEA) {
		h.goodMoved = now
	}
	if h.seen && rc.Locker.Edges != h.prev.Locker.Edges {
		h.edgesMoved = now
	}
	numbered := rc.Locker.Numbered + rc.Locker.Coasted + rc.Locker.NTPNumbered
	if h.seen && numbered != h.prev.Locker.Numbered+h.prev.Locker.Coasted+h.prev.Locker.NTPNumbered {
		h.numberedMoved = now
	}
	if rc.Receiver.Valid && !rc.Receiver.Received.IsZero() {
		h.validSince = now
	}
	synced := sync != nil && sync.Synced
	if synced {
		h.syncedAt = now
	}
	h.prev, h.seen = rc, true

	var cond [numFaults]time.Time // zero: condition absent; else since when
	quiet := func(moved time.Time) time.Time {
		if now.Sub(moved) >= h.after {
			return moved
		}
		return time.Time{}
	}
	if !h.wiring.NoNMEA {
		cond[FaultNoBytes] = quiet(h.linesMoved)
		if cond[FaultNoBytes].IsZero() {
			cond[FaultNoSentences] = quiet(h.goodMoved)
		}
		if cond[FaultNoBytes].IsZero() && cond[FaultNoSentences].IsZero() {
			since := h.validSince
			if since.IsZero() {
				since = h.start
			}
			cond[FaultNoFix] = quiet(since)
		}
	}
	if h.wiring.PPS {
		cond[FaultNoPPS] = quiet(h.edgesMoved)
		if cond[FaultNoPPS].IsZero() && cond[FaultNoFix].IsZero() && cond[FaultNoSentences].IsZero() && cond[FaultNoBytes].IsZero() {
			cond[FaultUnnumbered] = quiet(h.numberedMoved)
		}
	}
	cond[FaultNotSynced] = quiet(h.syncedAt)

	var evs []HealthEvent
	for f := range numFaults {
		on := !cond[f].IsZero()
		switch {
		case on && !h.raised[f]:
			h.raised[f], h.active[f] = true, cond[f]
			evs = append(evs, HealthEvent{Fault: f, Raised: true, Since: cond[f]})
		case !on && h.raised[f]:
			h.raised[f] = false
			evs = append(evs, HealthEvent{Fault: f, Raised: false, Since: h.active[f]})
		}
	}
	return evs
}

// Active returns the faults raised now, in Fault order.
func (h *Health) Active() []Fault {
	var out []Fault
	for f := range numFaults {
		if h.raised[f] {
			out = append(out, f)
		}
	}
	return out
}
