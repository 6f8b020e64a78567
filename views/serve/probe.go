package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gnomon-ntp/gnomon/refclock"
)

// ProbeBauds are the rates receivers ship at, most likely first.
var ProbeBauds = []int{9600, 4800, 38400, 115200, 19200, 57600, 230400}

// probeGood is how many lines with a valid NMEA checksum make a rate
// decode.
const probeGood = 3

// ProbeBaud opens the port at each of bauds but skip in turn through open,
// listens for up to listen and returns the first rate at which probeGood
// lines carry a valid NMEA checksum (0 if none does). Reading a port the
// refclock also reads splits its bytes between the two, which costs
// nothing here: at the wrong rate the refclock reads only noise.
func ProbeBaud(ctx context.Context, open func(baud int) (io.ReadCloser, error), bauds []int, skip int, listen time.Duration) (int, error) {
	var errs []error
	for _, b := range bauds {
		if b == skip {
			continue
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		rc, err := open(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%d baud: %w", b, err))
			continue
		}
		if decodes(ctx, rc, listen) {
			return b, nil
		}
	}
	return 0, errors.Join(errs...)
}

// decodes reads rc for up to listen (closing it then, which ends the
// read) and says whether probeGood lines had a valid checksum.
func decodes(ctx context.Context, rc io.ReadCloser, listen time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, listen)
	defer cancel()
	go func() {
		<-ctx.Done()
		rc.Close()
	}()
	p := refclock.NewParser(refclock.NMEAConfig{})
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 4096), 4096)
	for sc.Scan() {
		p.Line(sc.Text(), time.Time{})
		c := p.Stats().Snapshot()
		if c.Lines-c.Noise-c.Overlong-c.Checksum >= probeGood {
			return true
		}
	}
	return false
}
