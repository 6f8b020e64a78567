package discipline

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// Kernel clock parameters (linux/timex.h).
const (
	// NominalTick is the kernel's tick length in µs at USER_HZ 100; each
	// unit of ADJ_TICK away from it changes the rate by 100 ppm.
	NominalTick = 10000
	// kernelMaxFreqPPM is the ADJ_FREQUENCY limit (MAXFREQ).
	kernelMaxFreqPPM = 500
	// kernelMaxTickDelta bounds ADJ_TICK to ±10% of nominal.
	kernelMaxTickDelta = NominalTick / 10
	// kernelMaxErrorUS is NTP_PHASE_LIMIT-ish: the kernel caps maxerror at 16 s.
	kernelMaxErrorUS = 16000000
)

// AdjtimexFunc is the adjtimex system call (unix.Adjtimex); tests replace it.
type AdjtimexFunc func(tx *unix.Timex) (state int, err error)

// KernelClock steers the system clock (CLOCK_REALTIME) through adjtimex:
// frequency with ADJ_FREQUENCY (and ADJ_TICK beyond ±500 ppm), steps with
// ADJ_SETOFFSET|ADJ_NANO, STA_UNSYNC/maxerror/esterror while synchronised,
// STA_INS/STA_DEL for leap seconds. It never uses the kernel PLL.
type KernelClock struct {
	mu  sync.Mutex
	adj AdjtimexFunc
}

// NewKernelClock returns the system clock; adj nil means unix.Adjtimex. It
// reads the kernel state once (Modes 0) to check the call works.
func NewKernelClock(adj AdjtimexFunc) (*KernelClock, error) {
	if adj == nil {
		adj = unix.Adjtimex
	}
	c := &KernelClock{adj: adj}
	if _, err := c.read(); err != nil {
		return nil, err
	}
	return c, nil
}

// read returns the kernel's timex without changing anything (Modes 0).
func (c *KernelClock) read() (unix.Timex, error) {
	var tx unix.Timex
	if _, err := c.adj(&tx); err != nil {
		return tx, fmt.Errorf("adjtimex read: %w", err)
	}
	return tx, nil
}

func (c *KernelClock) call(what string, tx unix.Timex) error {
	if _, err := c.adj(&tx); err != nil {
		return fmt.Errorf("adjtimex %s: %w", what, err)
	}
	return nil
}

// Now reads CLOCK_REALTIME (wall reading only).
func (c *KernelClock) Now() time.Time { return time.Now().Round(0) }

// FrequencyPPB returns the frequency correction in force (tick and freq).
func (c *KernelClock) FrequencyPPB() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.read()
	if err != nil {
		return 0, err
	}
	return freqFromTimex(&tx), nil
}

// SetFrequencyPPB sets the frequency correction.
func (c *KernelClock) SetFrequencyPPB(ppb float64) error {
	tx, err := freqRequest(ppb)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.call("set frequency", tx)
}

// Step adds d to the clock.
func (c *KernelClock) Step(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.call("step", stepRequest(d))
}

// SetSync clears (synced) or sets STA_UNSYNC and sets the error estimates.
func (c *KernelClock) SetSync(synced bool, estErr, maxErr time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.read()
	if err != nil {
		return err
	}
	return c.call("set status", syncRequest(tx.Status, synced, estErr, maxErr))
}

// SetLeap arms STA_INS or STA_DEL (or clears both) for the end of the
// current UTC day.
func (c *KernelClock) SetLeap(l ntp.Leap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.read()
	if err != nil {
		return err
	}
	return c.call("set leap", leapRequest(tx.Status, l))
}

// PrecisionLog2 returns the kernel's reported precision as log2 seconds.
func (c *KernelClock) PrecisionLog2() int8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.read()
	if err != nil {
		return -20
	}
	return precisionLog2(int64(tx.Precision))
}

// precisionLog2 converts a precision in µs to log2 seconds (at least 1 µs:
// -20 is the finest we claim).
func precisionLog2(us int64) int8 {
	if us < 1 {
		us = 1
	}
	return int8(math.Round(math.Log2(float64(us) * 1e-6)))
}

// freqRequest builds the timex setting a frequency correction of ppb: the
// part beyond ±500 ppm goes into the tick (100 ppm per unit), the rest into
// Freq as ppm scaled by 2^16.
func freqRequest(ppb float64) (unix.Timex, error) {
	ppm := ppb / 1e3
	if math.IsNaN(ppm) || math.Abs(ppm) > kernelMaxTickDelta*100+kernelMaxFreqPPM {
		return unix.Timex{}, fmt.Errorf("adjtimex: frequency %.3f ppm out of range", ppm)
	}
	var dTick int64
	if math.Abs(ppm) > kernelMaxFreqPPM {
		dTick = int64(math.Round(ppm / 100))
		ppm -= float64(dTick) * 100
	}
	var tx unix.Timex
	tx.Modes = unix.ADJ_FREQUENCY | unix.ADJ_TICK
	tx.Freq = timexLong(int64(math.Round(ppm * 65536)))
	tx.Tick = timexLong(NominalTick + dTick)
	return tx, nil
}

// freqFromTimex returns the correction, in ppb, a timex's Freq and Tick
// describe.
func freqFromTimex(tx *unix.Timex) float64 {
	return (float64(tx.Freq)/65536 + float64(int64(tx.Tick)-NominalTick)*100) * 1e3
}

// stepRequest builds the timex adding d to the clock: ADJ_SETOFFSET with
// ADJ_NANO, so Time.Usec carries nanoseconds, normalised to [0, 1e9).
func stepRequest(d time.Duration) unix.Timex {
	sec := int64(d / time.Second)
	nsec := int64(d % time.Second)
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	var tx unix.Timex
	tx.Modes = unix.ADJ_SETOFFSET | unix.ADJ_NANO
	tx.Time.Sec = timexLong(sec)
	tx.Time.Usec = timexLong(nsec)
	return tx
}

// syncRequest builds the timex marking the clock synchronised or not with
// its error estimates in µs, keeping the other status bits (never STA_PLL:
// the kernel PLL stays off).
func syncRequest(status int32, synced bool, estErr, maxErr time.Duration) unix.Timex {
	var tx unix.Timex
	tx.Modes = unix.ADJ_STATUS | unix.ADJ_MAXERROR | unix.ADJ_ESTERROR
	st := status &^ (unix.STA_PLL | unix.STA_FLL)
	if synced {
		st &^= unix.STA_UNSYNC
	} else {
		st |= unix.STA_UNSYNC
		estErr, maxErr = 16*time.Second, 16*time.Second
	}
	tx.Status = st
	tx.Esterror = timexLong(min(estErr.Microseconds(), kernelMaxErrorUS))
	tx.Maxerror = timexLong(min(maxErr.Microseconds(), kernelMaxErrorUS))
	return tx
}

// leapRequest builds the timex arming a leap second (or clearing it),
// keeping the other status bits.
func leapRequest(status int32, l ntp.Leap) unix.Timex {
	var tx unix.Timex
	tx.Modes = unix.ADJ_STATUS
	st := status &^ (unix.STA_INS | unix.STA_DEL | unix.STA_PLL | unix.STA_FLL)
	switch l {
	case ntp.LeapInsert:
		st |= unix.STA_INS
	case ntp.LeapDelete:
		st |= unix.STA_DEL
	}
	tx.Status = st
	return tx
}
