package refclock

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

// Devices are the refclock's opened inputs. Handing them to NewDevice makes
// the Device their one owner: it closes them, whether Run ran or not.
type Devices struct {
	// Serial is the opened NMEA port; nil only for a bare PPS wire (PPS
	// set, pulses numbered from NTP time: SetNTPTime).
	Serial io.ReadCloser
	// Reopen opens the port again after a fault (nil: the port is not
	// reopened, and its loss stops Run).
	Reopen func() (io.ReadCloser, error)
	// PPS is the pulse source; nil means NMEA alone.
	PPS pps.Source
}

// Device is a RefClock that owns its devices: Run reads them, reopening the
// serial port with backoff after a fault, and closes them on return; Close
// closes whatever Run did not.
type Device struct {
	rc      *RefClock
	dev     Devices
	mu      sync.Mutex
	closed  bool
	running bool
	reopen  atomic.Pointer[ReopenReader]
}

// NewDevice returns a Device with cfg owning dev. It takes ownership even
// when it fails: the devices are closed then.
func NewDevice(cfg Config, dev Devices, log *slog.Logger) (*Device, error) {
	d := &Device{dev: dev}
	if dev.Serial == nil && dev.PPS == nil {
		d.Close()
		return nil, errors.New("refclock: neither a serial port nor a PPS source")
	}
	rc, err := New(cfg, log)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.rc = rc
	return d, nil
}

// Run runs the refclock over the devices until ctx is done (see
// RefClock.Run) and closes them on return. now is the local clock the
// pulses are stamped with. Call it once.
func (d *Device) Run(ctx context.Context, now func() time.Time, out chan<- source.Sample) error {
	d.mu.Lock()
	if d.closed || d.running {
		d.mu.Unlock()
		return errors.New("refclock: device closed or already running")
	}
	d.running = true
	first := d.dev.Serial
	d.mu.Unlock()
	defer d.Close()
	if first == nil {
		if d.rc.ntpTime == nil {
			return errors.New("refclock: a PPS source without a serial port needs NTP time to number its pulses (SetNTPTime)")
		}
		return d.rc.Run(ctx, silentPort(ctx), d.dev.PPS, now, out)
	}

	var mu sync.Mutex
	open := func() (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			f := first
			first = nil
			return f, nil
		}
		if d.dev.Reopen == nil {
			return nil, errors.New("refclock: serial port lost and no way to reopen it")
		}
		return d.dev.Reopen()
	}
	port := NewReopenReader(ctx, open, d.rc.cfg.Reopen, d.rc.log)
	d.reopen.Store(port)
	defer port.Close()
	return d.rc.Run(ctx, port, d.dev.PPS, now, out)
}

// silentPort is the NMEA input of a bare PPS wire: it carries nothing and
// ends (EOF) when ctx is done.
func silentPort(ctx context.Context) io.Reader {
	r, w := io.Pipe()
	context.AfterFunc(ctx, func() { w.Close() })
	return r
}

// SetNTPTime numbers the pulses from NTP time instead of NMEA (a bare
// PPS wire); see RefClock.SetNTPTime. Call it before Run.
func (d *Device) SetNTPTime(f func(local time.Time) (NTPTime, bool)) { d.rc.SetNTPTime(f) }

// Close closes the devices (idempotent). While Run runs, it closes the
// pulse source and the port Run reads, which ends Run's reads.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if r := d.reopen.Load(); r != nil {
		errs = append(errs, r.Close())
	} else if d.dev.Serial != nil {
		errs = append(errs, d.dev.Serial.Close())
	}
	if d.dev.PPS != nil {
		errs = append(errs, d.dev.PPS.Close())
	}
	return errors.Join(errs...)
}

// Status returns the refclock's latest snapshot, with the serial port's
// reopen counters; safe from any goroutine.
func (d *Device) Status() Status {
	if d.rc == nil {
		return Status{}
	}
	st := d.rc.Status()
	if r := d.reopen.Load(); r != nil {
		st.Reopen = r.Stats()
	}
	return st
}
