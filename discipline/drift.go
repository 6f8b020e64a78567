package discipline

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
	"github.com/gnomon-ntp/gnomon/source"
)

// Drift is the content of the drift file: the frequency correction learnt
// and when it was saved.
type Drift struct {
	// FreqPPB is the frequency correction, parts per billion.
	FreqPPB float64
	// Time is when it was saved (UTC).
	Time time.Time
}

// maxDriftPPB bounds a credible drift file value (the kernel's ±500 ppm).
const maxDriftPPB = 500e3

// ErrBadDrift is returned (wrapped) for a drift file that cannot be parsed.
var ErrBadDrift = errors.New("malformed drift file")

// ParseDrift parses a drift file: one line "<freq ppb> <RFC 3339 time>".
func ParseDrift(b []byte) (Drift, error) {
	fields := bytes.Fields(b)
	if len(fields) != 2 {
		return Drift{}, fmt.Errorf("%w: want 2 fields, got %d", ErrBadDrift, len(fields))
	}
	f, err := strconv.ParseFloat(string(fields[0]), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxDriftPPB {
		return Drift{}, fmt.Errorf("%w: frequency %q", ErrBadDrift, fields[0])
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[1]))
	if err != nil {
		return Drift{}, fmt.Errorf("%w: time: %w", ErrBadDrift, err)
	}
	return Drift{FreqPPB: f, Time: t.UTC()}, nil
}

// Format returns the file content for d.
func (d Drift) Format() []byte {
	return fmt.Appendf(nil, "%.3f %s\n", d.FreqPPB, d.Time.UTC().Format(time.RFC3339))
}

// MaxDriftFileBytes caps the drift file read: its one line is far shorter.
const MaxDriftFileBytes = 4 << 10

// ReadDrift reads the drift file at path: a regular file of at most
// MaxDriftFileBytes (a device, FIFO or huge file is refused, never read).
func ReadDrift(path string) (Drift, error) {
	b, err := safefile.Read(path, MaxDriftFileBytes)
	if err != nil {
		return Drift{}, fmt.Errorf("drift file: %w", err)
	}
	d, err := ParseDrift(b)
	if err != nil {
		return Drift{}, fmt.Errorf("drift file %s: %w", path, err)
	}
	return d, nil
}

// WriteDrift saves d to path atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func WriteDrift(path string, d Drift) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("drift file: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("drift file %s: %w", path, err)
	}
	if _, err := tmp.Write(d.Format()); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("drift file %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("drift file %s: %w", path, err)
	}
	df, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("drift file dir %s: %w", dir, err)
	}
	defer df.Close()
	if err := df.Sync(); err != nil {
		return fmt.Errorf("drift file dir %s: fsync: %w", dir, err)
	}
	return nil
}

// RemoveStaleTemps removes the temporary files a WriteDrift interrupted by
// a crash or kill -9 left beside path, and returns their names.
func RemoveStaleTemps(path string) ([]string, error) {
	return safefile.RemoveStale(path)
}

// SavedAt returns the modification time of the drift file at path: a time
// known to have passed (the file is rewritten hourly while locked). A
// missing file, or one that is not a regular file, gives the zero time.
func SavedAt(path string) time.Time {
	if path == "" {
		return time.Time{}
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return time.Time{}
	}
	return fi.ModTime()
}

// PlausibleBounds returns the bounds on any reference time: from the later
// of build (the binary's build date) and the drift file's SavedAt, for
// source.DefaultPlausibleSpan.
func PlausibleBounds(build time.Time, driftPath string) source.TimeBounds {
	return source.NewTimeBounds(0, build, SavedAt(driftPath))
}
