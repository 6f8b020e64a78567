package discipline

import (
	"errors"
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// TestAdjtimexReadOnly is the only real system call the tests make: Modes 0
// reads the kernel state and changes nothing.
func TestAdjtimexReadOnly(t *testing.T) {
	var tx unix.Timex // Modes 0
	if _, err := unix.Adjtimex(&tx); err != nil {
		t.Fatalf("adjtimex read-only: %v", err)
	}
	if tx.Tick < 9000 || tx.Tick > 11000 {
		t.Errorf("kernel tick %d not near %d", tx.Tick, NominalTick)
	}
	if p := precisionLog2(int64(tx.Precision)); p > -10 || p < -30 {
		t.Errorf("precision log2 %d implausible", p)
	}
}

func TestTimexLongWidth(t *testing.T) {
	var tx unix.Timex
	tx.Freq = timexLong(-5)
	if int64(tx.Freq) != -5 {
		t.Fatal("timexLong lost the sign")
	}
	want := 64
	if ^uint(0)>>32 == 0 {
		want = 32
	}
	if timexLongWidth != want {
		t.Errorf("timex long width %d on a %d-bit platform", timexLongWidth, want)
	}
}

func TestFreqRequest(t *testing.T) {
	cases := []struct {
		ppb      float64
		freq     int64
		tick     int64
		rangeErr bool
	}{
		{0, 0, NominalTick, false},
		{30e3, 30 << 16, NominalTick, false},
		{-499.5e3, -32735232, NominalTick, false},
		{500e3, 500 << 16, NominalTick, false},
		{1234e3, 34 << 16, NominalTick + 12, false},
		{-20000e3, 0, NominalTick - 200, false},
		{0.0153, 1, NominalTick, false}, // 1/65536 ppm is 15.26 ppt
		{200000e3, 0, 0, true},
		{math.NaN(), 0, 0, true},
	}
	for _, c := range cases {
		tx, err := freqRequest(c.ppb)
		if c.rangeErr {
			if err == nil {
				t.Errorf("freqRequest(%v): no error", c.ppb)
			}
			continue
		}
		if err != nil {
			t.Fatalf("freqRequest(%v): %v", c.ppb, err)
		}
		if tx.Modes != unix.ADJ_FREQUENCY|unix.ADJ_TICK {
			t.Errorf("modes %#x", tx.Modes)
		}
		if int64(tx.Freq) != c.freq || int64(tx.Tick) != c.tick {
			t.Errorf("freqRequest(%v) = freq %d tick %d, want %d %d", c.ppb, tx.Freq, tx.Tick, c.freq, c.tick)
		}
		if got := freqFromTimex(&tx); math.Abs(got-c.ppb) > 0.01 {
			t.Errorf("round trip %v -> %v ppb", c.ppb, got)
		}
	}
}

func TestStepRequest(t *testing.T) {
	cases := []struct {
		d         time.Duration
		sec, nsec int64
	}{
		{500 * time.Millisecond, 0, 500000000},
		{-1500 * time.Millisecond, -2, 500000000},
		{-time.Nanosecond, -1, 999999999},
		{3 * time.Second, 3, 0},
	}
	for _, c := range cases {
		tx := stepRequest(c.d)
		if tx.Modes != unix.ADJ_SETOFFSET|unix.ADJ_NANO {
			t.Errorf("modes %#x", tx.Modes)
		}
		if int64(tx.Time.Sec) != c.sec || int64(tx.Time.Usec) != c.nsec {
			t.Errorf("stepRequest(%v) = %d s %d ns, want %d %d", c.d, tx.Time.Sec, tx.Time.Usec, c.sec, c.nsec)
		}
	}
}

func TestSyncAndLeapRequests(t *testing.T) {
	tx := syncRequest(unix.STA_UNSYNC|unix.STA_PLL|unix.STA_INS, true, 2*time.Microsecond, 40*time.Microsecond)
	if tx.Modes != unix.ADJ_STATUS|unix.ADJ_MAXERROR|unix.ADJ_ESTERROR {
		t.Errorf("modes %#x", tx.Modes)
	}
	if tx.Status&unix.STA_UNSYNC != 0 || tx.Status&unix.STA_PLL != 0 || tx.Status&unix.STA_INS == 0 {
		t.Errorf("status %#x: want UNSYNC and PLL clear, INS kept", tx.Status)
	}
	if tx.Esterror != 2 || tx.Maxerror != 40 {
		t.Errorf("est %d max %d µs", tx.Esterror, tx.Maxerror)
	}
	tx = syncRequest(0, false, 0, time.Hour)
	if tx.Status&unix.STA_UNSYNC == 0 || tx.Maxerror != kernelMaxErrorUS {
		t.Errorf("unsynced: status %#x maxerror %d", tx.Status, tx.Maxerror)
	}
	for _, c := range []struct {
		l    ntp.Leap
		want int32
	}{{ntp.LeapInsert, unix.STA_INS}, {ntp.LeapDelete, unix.STA_DEL}, {ntp.LeapNone, 0}} {
		tx := leapRequest(unix.STA_DEL|unix.STA_INS|unix.STA_PPSSIGNAL, c.l)
		if tx.Modes != unix.ADJ_STATUS || tx.Status&(unix.STA_INS|unix.STA_DEL) != c.want || tx.Status&unix.STA_PPSSIGNAL == 0 {
			t.Errorf("leapRequest(%d) = %#x", c.l, tx.Status)
		}
	}
}

// fakeKernel records requests instead of making them.
type fakeKernel struct {
	tx   unix.Timex
	reqs []unix.Timex
	fail error
}

func (f *fakeKernel) adjtimex(tx *unix.Timex) (int, error) {
	if f.fail != nil {
		return 0, f.fail
	}
	if tx.Modes == 0 {
		*tx = f.tx
		return unix.TIME_OK, nil
	}
	f.reqs = append(f.reqs, *tx)
	if tx.Modes&unix.ADJ_FREQUENCY != 0 {
		f.tx.Freq, f.tx.Tick = tx.Freq, tx.Tick
	}
	if tx.Modes&unix.ADJ_STATUS != 0 {
		f.tx.Status = tx.Status
	}
	return unix.TIME_OK, nil
}

func TestKernelClockOnFake(t *testing.T) {
	f := &fakeKernel{tx: unix.Timex{Tick: NominalTick, Status: unix.STA_UNSYNC, Precision: 1}}
	c, err := NewKernelClock(f.adjtimex)
	if err != nil {
		t.Fatal(err)
	}
	var _ Clock = c
	if err := c.SetFrequencyPPB(-31234.5); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.FrequencyPPB(); math.Abs(got+31234.5) > 0.02 {
		t.Errorf("frequency read back %v", got)
	}
	if err := c.SetSync(true, time.Microsecond, 10*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if f.tx.Status&unix.STA_UNSYNC != 0 {
		t.Error("STA_UNSYNC not cleared")
	}
	if err := c.SetLeap(ntp.LeapInsert); err != nil || f.tx.Status&unix.STA_INS == 0 {
		t.Errorf("STA_INS not set: %v", err)
	}
	if err := c.Step(-250 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if p := c.PrecisionLog2(); p != -20 {
		t.Errorf("precision %d, want -20 for 1 µs", p)
	}
	f.fail = errors.New("EPERM")
	if err := c.Step(time.Second); !errors.Is(err, f.fail) {
		t.Errorf("error not wrapped: %v", err)
	}
}
