// Package leap reads the IERS/NIST leap-seconds.list file and tells whether
// a leap second is due at the end of a given UTC day.
package leap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
)

// DefaultPath is where tzdata ships the list on Debian.
const DefaultPath = "/usr/share/zoneinfo/leap-seconds.list"

// ntpEpochOffset is the seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix).
const ntpEpochOffset = 2208988800

// Entry is one line of the list: from At (a UTC midnight) on, TAI - UTC is
// TAIOffset seconds.
type Entry struct {
	At        time.Time
	TAIOffset int
}

// Table is a parsed leap-second list. The zero Table knows no leaps and has
// no expiry.
type Table struct {
	entries []Entry
	expires time.Time
	updated time.Time
}

// ErrSyntax is returned (wrapped) for a malformed list.
var ErrSyntax = errors.New("leap: malformed leap-seconds list")

// New returns a table of entries (sorted by At) expiring at expires (zero:
// never). Used for tests and simulations.
func New(entries []Entry, expires time.Time) (*Table, error) {
	es := append([]Entry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].At.Before(es[j].At) })
	for i, e := range es {
		if !e.At.Equal(e.At.UTC().Truncate(24 * time.Hour)) {
			return nil, fmt.Errorf("%w: entry %v is not a UTC midnight", ErrSyntax, e.At)
		}
		if i > 0 {
			if es[i-1].At.Equal(e.At) {
				return nil, fmt.Errorf("%w: two entries at %v", ErrSyntax, e.At)
			}
			if d := e.TAIOffset - es[i-1].TAIOffset; d != 1 && d != -1 {
				return nil, fmt.Errorf("%w: TAI-UTC jumps by %d at %v", ErrSyntax, d, e.At)
			}
		}
		es[i].At = e.At.UTC()
	}
	return &Table{entries: es, expires: expires.UTC()}, nil
}

// Parse reads the leap-seconds.list format: "#@ <NTP seconds>" gives the
// expiry, "#$ <NTP seconds>" the last update, other lines starting with '#'
// are comments, and data lines are "<NTP seconds> <TAI-UTC> [# comment]".
func Parse(b []byte) (*Table, error) {
	var es []Entry
	var expires, updated time.Time
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, "#@"), strings.HasPrefix(s, "#$"):
			t, err := ntpSeconds(strings.TrimSpace(s[2:]))
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %w", ErrSyntax, line, err)
			}
			if s[1] == '@' {
				expires = t
			} else {
				updated = t
			}
			continue
		case strings.HasPrefix(s, "#"):
			continue
		}
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		f := strings.Fields(s)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: line %d: want 2 fields, got %d", ErrSyntax, line, len(f))
		}
		t, err := ntpSeconds(f[0])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrSyntax, line, err)
		}
		off, err := strconv.Atoi(f[1])
		if err != nil || off < 0 || off > 1000 {
			return nil, fmt.Errorf("%w: line %d: TAI-UTC %q", ErrSyntax, line, f[1])
		}
		es = append(es, Entry{At: t, TAIOffset: off})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("%w: no entries", ErrSyntax)
	}
	if expires.IsZero() {
		return nil, fmt.Errorf("%w: no expiry (#@) line", ErrSyntax)
	}
	t, err := New(es, expires)
	if err != nil {
		return nil, err
	}
	t.updated = updated
	return t, nil
}

// ntpSeconds parses a decimal count of seconds since 1900.
func ntpSeconds(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<36 {
		return time.Time{}, fmt.Errorf("NTP seconds %q", s)
	}
	return time.Unix(n-ntpEpochOffset, 0).UTC(), nil
}

// MaxFileBytes caps the list read (the IERS list is about 10 KiB).
const MaxFileBytes = 256 << 10

// Load reads and parses the list at path: a regular file of at most
// MaxFileBytes (a device, FIFO or huge file is refused unread).
func Load(path string) (*Table, error) {
	b, err := safefile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("leap: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("leap: %s: %w", path, err)
	}
	return t, nil
}

// Expires returns the list's expiry (zero: none).
func (t *Table) Expires() time.Time { return t.expires }

// Updated returns the list's last update (zero if the list does not say).
func (t *Table) Updated() time.Time { return t.updated }

// Expired reports whether the list has expired at now: it can then no
// longer announce leap seconds.
func (t *Table) Expired(now time.Time) bool {
	return !t.expires.IsZero() && !now.Before(t.expires)
}

// Entries returns a copy of the entries.
func (t *Table) Entries() []Entry { return append([]Entry(nil), t.entries...) }

// Due returns +1 when a leap second is inserted at the end of the UTC day
// containing now, -1 when one is deleted, and 0 otherwise, including when
// the end of that day lies beyond the list's expiry (the list does not know).
func (t *Table) Due(now time.Time) int {
	if t == nil {
		return 0
	}
	end := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if !t.expires.IsZero() && end.After(t.expires) {
		return 0
	}
	i := sort.Search(len(t.entries), func(i int) bool { return !t.entries[i].At.Before(end) })
	if i == 0 || i == len(t.entries) || !t.entries[i].At.Equal(end) {
		return 0
	}
	return t.entries[i].TAIOffset - t.entries[i-1].TAIOffset
}

// TAIOffset returns TAI - UTC at t (0 before the first entry).
func (t *Table) TAIOffset(at time.Time) int {
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].At.After(at) })
	if i == 0 {
		return 0
	}
	return t.entries[i-1].TAIOffset
}
