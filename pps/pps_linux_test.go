//go:build linux

package pps

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakePPS is a scripted ppsDevice.
type fakePPS struct {
	caps     uint32
	params   unix.PPSKParams
	capErr   error
	setErr   error
	fetches  []fakeFetch // consumed in order; when empty, fetch times out
	setCalls []unix.PPSKParams
	timeouts []unix.PPSKTime
	closed   bool
	onEmpty  func() // called when the script is exhausted
}

type fakeFetch struct {
	info unix.PPSKInfo
	err  error
}

func (f *fakePPS) getCap() (uint32, error)            { return f.caps, f.capErr }
func (f *fakePPS) getParams(p *unix.PPSKParams) error { *p = f.params; return nil }
func (f *fakePPS) setParams(p *unix.PPSKParams) error {
	f.setCalls = append(f.setCalls, *p)
	if f.setErr != nil {
		return f.setErr
	}
	f.params = *p
	return nil
}
func (f *fakePPS) fetch(d *unix.PPSFData) error {
	f.timeouts = append(f.timeouts, d.Timeout)
	if len(f.fetches) == 0 {
		if f.onEmpty != nil {
			f.onEmpty()
		}
		return unix.ETIMEDOUT
	}
	r := f.fetches[0]
	f.fetches = f.fetches[1:]
	d.Info = r.info
	return r.err
}
func (f *fakePPS) Close() error { f.closed = true; return nil }

func assertInfo(seq uint32, sec int64, nsec int32) fakeFetch {
	return fakeFetch{info: unix.PPSKInfo{Assert_sequence: seq, Assert_tu: unix.PPSKTime{Sec: sec, Nsec: nsec}}}
}

const linuxCaps = modeCaptureAssert | modeCaptureClear | modeOffsetAssert | modeOffsetClear | modeCanWait | modeTSFmtTSpec

func TestKernelSetsModeAndDeliversNewEdges(t *testing.T) {
	dev := &fakePPS{
		caps:   linuxCaps,
		params: unix.PPSKParams{Api_version: 1, Mode: modeCaptureAssert | modeOffsetAssert},
		fetches: []fakeFetch{
			assertInfo(41, 1700000000, 5), // baseline at open: not delivered
			{err: unix.ETIMEDOUT},
			{err: unix.EINTR},
			assertInfo(42, 1700000001, 1234),
			assertInfo(42, 1700000001, 1234), // woke for a clear edge: repeat
			assertInfo(43, 1700000002, 999999999),
		},
	}
	k, err := newKernel(dev, "/dev/pps9", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.setCalls) != 1 {
		t.Fatalf("PPS_SETPARAMS called %d times, want 1", len(dev.setCalls))
	}
	wantMode := int32(modeCaptureAssert | modeOffsetAssert | modeTSFmtTSpec)
	if got := dev.setCalls[0].Mode; got != wantMode {
		t.Errorf("mode set to %#x, want %#x (existing bits kept, TSPEC added)", got, wantMode)
	}
	if !k.canWait {
		t.Error("canWait false with PPS_CANWAIT in capabilities")
	}
	ctx := context.Background()
	want := []Edge{
		{Time: time.Unix(1700000001, 1234), Seq: 42, Assert: true},
		{Time: time.Unix(1700000002, 999999999), Seq: 43, Assert: true},
	}
	for i, w := range want {
		e, err := k.Next(ctx)
		if err != nil {
			t.Fatalf("edge %d: %v", i, err)
		}
		if !e.Time.Equal(w.Time) || e.Seq != w.Seq || e.Assert != w.Assert {
			t.Errorf("edge %d = %+v, want %+v", i, e, w)
		}
	}
	// The open-time fetch polls (zero timeout); later ones block up to 1 s.
	if dev.timeouts[0] != (unix.PPSKTime{}) {
		t.Errorf("baseline fetch timeout %+v, want zero (poll)", dev.timeouts[0])
	}
	for _, to := range dev.timeouts[1:] {
		if to.Sec != 1 || to.Nsec != 0 || to.Flags != 0 {
			t.Errorf("blocking fetch timeout %+v, want 1 s", to)
		}
	}
	if k.Precision() != KernelPrecision {
		t.Errorf("Precision = %v", k.Precision())
	}
	if err := k.Close(); err != nil || !dev.closed {
		t.Errorf("Close = %v, device closed %v", err, dev.closed)
	}
	if _, err := k.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestKernelSkipsSetParamsWhenModeAlreadySet(t *testing.T) {
	dev := &fakePPS{caps: linuxCaps, params: unix.PPSKParams{Mode: modeCaptureAssert | modeTSFmtTSpec}}
	if _, err := newKernel(dev, "/dev/pps0", false); err != nil {
		t.Fatal(err)
	}
	if len(dev.setCalls) != 0 {
		t.Errorf("PPS_SETPARAMS called although the mode was already right: %+v", dev.setCalls)
	}
}

func TestKernelClearEdgeAndSequenceWrap(t *testing.T) {
	clearInfo := func(seq uint32, sec int64) fakeFetch {
		return fakeFetch{info: unix.PPSKInfo{
			Assert_sequence: 7, Assert_tu: unix.PPSKTime{Sec: 1},
			Clear_sequence: seq, Clear_tu: unix.PPSKTime{Sec: sec},
		}}
	}
	dev := &fakePPS{
		caps: linuxCaps,
		fetches: []fakeFetch{
			clearInfo(0xfffffffe, 10),
			clearInfo(0xffffffff, 11),
			clearInfo(0, 12),
			clearInfo(1, 13),
		},
	}
	k, err := newKernel(dev, "/dev/pps0", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.setCalls[0].Mode; got != modeCaptureClear|modeTSFmtTSpec {
		t.Errorf("mode %#x, want CAPTURECLEAR|TSFMT_TSPEC", got)
	}
	// Sequence 0 is what a device that never captured reports, so it is
	// skipped even after a wrap (one pulse in 2^32 s, ~136 years); the
	// next edge still gets a gap-free widened number.
	want := []struct {
		seq uint64
		sec int64
	}{{0xffffffff, 11}, {0x100000001, 13}}
	for _, w := range want {
		e, err := k.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != w.seq || e.Time.Unix() != w.sec || !e.Assert {
			t.Errorf("edge %+v, want seq %#x at %d, Assert true (the on-time edge)", e, w.seq, w.sec)
		}
	}
}

func TestKernelPollsWithoutCanWait(t *testing.T) {
	dev := &fakePPS{
		caps: modeCaptureAssert | modeTSFmtTSpec,
		fetches: []fakeFetch{
			assertInfo(0, 0, 0), // nothing captured yet at open
			assertInfo(0, 0, 0),
			assertInfo(1, 100, 0),
		},
	}
	k, err := newKernel(dev, "/dev/pps0", false)
	if err != nil {
		t.Fatal(err)
	}
	k.pollInterval = time.Millisecond
	e, err := k.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 1 || e.Time.Unix() != 100 {
		t.Errorf("edge %+v", e)
	}
	for _, to := range dev.timeouts {
		if to != (unix.PPSKTime{}) {
			t.Errorf("fetch timeout %+v on a device without CANWAIT, want zero (poll)", to)
		}
	}
}

func TestKernelHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dev := &fakePPS{caps: linuxCaps, fetches: []fakeFetch{assertInfo(5, 1, 0)}}
	dev.onEmpty = cancel // the fetch after open times out and ctx ends meanwhile
	k, err := newKernel(dev, "/dev/pps0", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
	// A ctx deadline shortens the fetch timeout.
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	dev.onEmpty = nil
	dev.timeouts = nil
	if _, err := k.Next(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next = %v, want context.DeadlineExceeded", err)
	}
	if len(dev.timeouts) == 0 || dev.timeouts[0].Sec != 0 || dev.timeouts[0].Nsec > int32(100*time.Millisecond) {
		t.Errorf("fetch timeouts %+v, want < 100 ms under a 100 ms deadline", dev.timeouts)
	}
}

func TestKernelErrors(t *testing.T) {
	tests := []struct {
		name  string
		dev   *fakePPS
		clear bool
		want  []string
		is    error
	}{
		{"not a pps device", &fakePPS{capErr: unix.ENOTTY}, false, []string{"PPS_GETCAP", "/dev/ppsX"}, unix.ENOTTY},
		{"no assert capture", &fakePPS{caps: modeCaptureClear}, false, []string{"PPS_GETCAP", "PPS_CAPTUREASSERT", "/dev/ppsX"}, nil},
		{"no clear capture", &fakePPS{caps: modeCaptureAssert}, true, []string{"PPS_CAPTURECLEAR"}, nil},
		{"setparams denied", &fakePPS{caps: linuxCaps, setErr: unix.EPERM}, false, []string{"PPS_SETPARAMS", "CAP_SYS_TIME", "/dev/ppsX"}, unix.EPERM},
		{"fetch fails", &fakePPS{caps: linuxCaps, fetches: []fakeFetch{{err: unix.EIO}}}, false, []string{"PPS_FETCH", "/dev/ppsX"}, unix.EIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newKernel(tc.dev, "/dev/ppsX", tc.clear)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
	// A fetch failing after open is returned by Next, wrapped.
	dev := &fakePPS{caps: linuxCaps, fetches: []fakeFetch{assertInfo(1, 1, 0), {err: unix.ENODEV}}}
	k, err := newKernel(dev, "/dev/ppsX", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Next(context.Background()); !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "PPS_FETCH on /dev/ppsX") {
		t.Errorf("Next = %v, want wrapped ENODEV naming PPS_FETCH and the device", err)
	}
}

// OpenKernel on real files: the ioctls reach the kernel and fail cleanly.
func TestOpenKernelRealFiles(t *testing.T) {
	if _, err := OpenKernel("/nonexistent/pps0", false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenKernel(missing) = %v, want fs.ErrNotExist", err)
	}
	_, err := OpenKernel("/dev/null", false)
	if !errors.Is(err, unix.ENOTTY) || !strings.Contains(err.Error(), "PPS_GETCAP on /dev/null") {
		t.Errorf("OpenKernel(/dev/null) = %v, want ENOTTY from PPS_GETCAP naming the device", err)
	}
}
