//go:build linux

package pps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelFetchTimeout bounds one blocking PPS_FETCH, so Next notices a
// cancelled ctx or Close within it.
const kernelFetchTimeout = time.Second

// kernelPollInterval is the pause between non-blocking fetches on a device
// without PPS_CANWAIT. The kernel stamped the edge, so polling late only
// delays delivery; it does not degrade the timestamp.
const kernelPollInterval = 20 * time.Millisecond

// ppsDevice is the ioctl surface of /dev/ppsN, apart so the source's logic
// can be tested without the device.
type ppsDevice interface {
	getCap() (uint32, error)
	getParams(p *unix.PPSKParams) error
	setParams(p *unix.PPSKParams) error
	fetch(d *unix.PPSFData) error
	Close() error
}

// ppsFile is a ppsDevice over an open /dev/ppsN. The ioctls run inside
// RawConn.Control so a concurrent Close cannot recycle the descriptor while
// a fetch blocks.
type ppsFile struct {
	f  *os.File
	rc syscall.RawConn
}

func (p *ppsFile) ioctl(req uint, arg unsafe.Pointer) error {
	var errno syscall.Errno
	err := p.rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (p *ppsFile) getCap() (uint32, error) {
	var mode uint32 // the kernel writes an int
	err := p.ioctl(unix.PPS_GETCAP, unsafe.Pointer(&mode))
	return mode, err
}

func (p *ppsFile) getParams(k *unix.PPSKParams) error {
	return p.ioctl(unix.PPS_GETPARAMS, unsafe.Pointer(k))
}

func (p *ppsFile) setParams(k *unix.PPSKParams) error {
	return p.ioctl(unix.PPS_SETPARAMS, unsafe.Pointer(k))
}

func (p *ppsFile) fetch(d *unix.PPSFData) error {
	return p.ioctl(unix.PPS_FETCH, unsafe.Pointer(d))
}

func (p *ppsFile) Close() error { return p.f.Close() }

// kernel is the RFC 2783 Source over /dev/ppsN.
type kernel struct {
	dev     ppsDevice
	name    string
	clear   bool // capture the clear edge instead of assert
	canWait bool

	fetchTimeout time.Duration
	pollInterval time.Duration

	seq       seqExtender
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// OpenKernel opens the kernel PPS device (e.g. /dev/pps0, made by the
// pps-gpio overlay) and configures it to capture the assert edge, or the
// clear edge when captureClear is set (for a pulse whose falling edge is on
// time on an overlay without assert_falling_edge); either way the captured
// edge is the on-time one and Edges carry Assert true. Setting the mode needs
// CAP_SYS_TIME unless the device already captures that edge with timespec
// stamps. Edges carry the kernel's CLOCK_REALTIME stamp from the interrupt
// handler.
func OpenKernel(device string, captureClear bool) (Source, error) {
	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("pps: open kernel PPS device: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pps: %s: %w", device, err)
	}
	k, err := newKernel(&ppsFile{f: f, rc: rc}, device, captureClear)
	if err != nil {
		f.Close()
		return nil, err
	}
	return k, nil
}

// newKernel runs the RFC 2783 setup on dev: check capabilities, enable
// capture of the wanted edge, and note the current sequence so an edge
// captured before we opened is not handed out as new.
func newKernel(dev ppsDevice, name string, captureClear bool) (*kernel, error) {
	caps, err := dev.getCap()
	if err != nil {
		return nil, fmt.Errorf("pps: PPS_GETCAP on %s (is it a PPS device?): %w", name, err)
	}
	capture, edgeName := uint32(modeCaptureAssert), "PPS_CAPTUREASSERT"
	if captureClear {
		capture, edgeName = modeCaptureClear, "PPS_CAPTURECLEAR"
	}
	if caps&capture == 0 {
		return nil, fmt.Errorf("pps: PPS_GETCAP on %s: device cannot %s (capabilities %#x)", name, edgeName, caps)
	}
	var params unix.PPSKParams
	if err := dev.getParams(&params); err != nil {
		return nil, fmt.Errorf("pps: PPS_GETPARAMS on %s: %w", name, err)
	}
	want := int32(capture | modeTSFmtTSpec)
	if params.Mode&want != want {
		params.Mode |= want
		params.Api_version = ppsAPIVers1
		if err := dev.setParams(&params); err != nil {
			hint := ""
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
				hint = " (needs CAP_SYS_TIME)"
			}
			return nil, fmt.Errorf("pps: PPS_SETPARAMS mode %#x on %s%s: %w", params.Mode, name, hint, err)
		}
	}
	k := &kernel{
		dev:          dev,
		name:         name,
		clear:        captureClear,
		canWait:      caps&modeCanWait != 0,
		fetchTimeout: kernelFetchTimeout,
		pollInterval: kernelPollInterval,
		closed:       make(chan struct{}),
	}
	// A zero timeout returns at once with the last captured event.
	var d unix.PPSFData
	if err := k.fetchRetry(&d); err != nil && !errors.Is(err, unix.ETIMEDOUT) {
		return nil, fmt.Errorf("pps: PPS_FETCH on %s: %w", name, err)
	}
	if raw, _ := k.pick(&d); raw != 0 {
		k.seq.next(raw)
	}
	return k, nil
}

// fetchRetry runs PPS_FETCH, repeating it when a signal interrupts it.
func (k *kernel) fetchRetry(d *unix.PPSFData) error {
	for {
		err := k.dev.fetch(d)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// pick returns the sequence number and stamp of the captured edge.
func (k *kernel) pick(d *unix.PPSFData) (uint32, unix.PPSKTime) {
	if k.clear {
		return d.Info.Clear_sequence, d.Info.Clear_tu
	}
	return d.Info.Assert_sequence, d.Info.Assert_tu
}

// Next implements Source. A cancelled ctx or Close is noticed within one
// fetch timeout (1 s).
func (k *kernel) Next(ctx context.Context) (Edge, error) {
	for {
		select {
		case <-k.closed:
			return Edge{}, ErrClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return Edge{}, err
		}
		var d unix.PPSFData
		if k.canWait {
			wait := k.fetchTimeout
			if dl, ok := ctx.Deadline(); ok {
				// At least 10 ms: a timeout under one kernel tick (HZ 100)
				// would not wait at all.
				wait = min(wait, max(time.Until(dl), 10*time.Millisecond))
			}
			d.Timeout = unix.PPSKTime{Sec: int64(wait / time.Second), Nsec: int32(wait % time.Second)}
		}
		err := k.fetchRetry(&d)
		if errors.Is(err, unix.ETIMEDOUT) {
			continue
		}
		if err != nil {
			select {
			case <-k.closed:
				return Edge{}, ErrClosed
			default:
			}
			return Edge{}, fmt.Errorf("pps: PPS_FETCH on %s: %w", k.name, err)
		}
		raw, tu := k.pick(&d)
		// Sequence 0 means nothing captured yet; a repeat is the same
		// edge again (the fetch woke for the other edge, or we polled).
		if raw != 0 {
			if seq, isNew := k.seq.next(raw); isNew {
				// The captured edge is the on-time one either way, which
				// is what Edge.Assert means (the locker drops others).
				return Edge{Time: time.Unix(tu.Sec, int64(tu.Nsec)), Seq: seq, Assert: true}, nil
			}
		}
		if !k.canWait {
			if err := k.sleep(ctx); err != nil {
				return Edge{}, err
			}
		}
	}
}

// sleep waits one poll interval, or less if ctx ends or the source closes.
func (k *kernel) sleep(ctx context.Context) error {
	t := time.NewTimer(k.pollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-k.closed:
		return ErrClosed
	case <-t.C:
		return nil
	}
}

// Precision implements Source.
func (k *kernel) Precision() time.Duration { return KernelPrecision }

// Close implements Source. A Next blocked in PPS_FETCH returns ErrClosed
// when its fetch times out, and Close may wait for that (up to 1 s) before
// the descriptor is released.
func (k *kernel) Close() error {
	k.closeOnce.Do(func() {
		close(k.closed)
		if err := k.dev.Close(); err != nil {
			k.closeErr = fmt.Errorf("pps: close %s: %w", k.name, err)
		}
	})
	return k.closeErr
}
