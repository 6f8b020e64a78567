package leap

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/safefile"
)

const sample = `# comment
#$	3676924800
#@	3707596800
3550089600	35	# 1 Jul 2012
3644697600	36	# 1 Jul 2015
3692217600	37	# 1 Jan 2017
#h	0 0 0 0 0
`

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestParseAndDue(t *testing.T) {
	tb, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tb.Entries()); got != 3 {
		t.Fatalf("entries = %d", got)
	}
	if want := time.Date(2017, 6, 28, 0, 0, 0, 0, time.UTC); !tb.Expires().Equal(want) {
		t.Errorf("expires %v, want %v", tb.Expires(), want)
	}
	cases := []struct {
		at   time.Time
		want int
	}{
		{day(2016, 12, 31), 1},
		{time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC), 1},
		{time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{day(2016, 12, 30), 0},
		{day(2015, 6, 30), 1},
		{day(2012, 6, 30), 0}, // the first entry is the start, not a leap
		{day(2020, 6, 30), 0},
	}
	for _, c := range cases {
		if got := tb.Due(c.at); got != c.want {
			t.Errorf("Due(%v) = %d, want %d", c.at, got, c.want)
		}
	}
	if got := tb.TAIOffset(day(2016, 1, 1)); got != 36 {
		t.Errorf("TAIOffset = %d", got)
	}
}

func TestExpiryHonoured(t *testing.T) {
	// A leap listed after the expiry (a stale list being extended by hand)
	// is not announced; a list that expired says so.
	tb, err := New([]Entry{
		{At: time.Date(2016, 7, 1, 0, 0, 0, 0, time.UTC), TAIOffset: 36},
		{At: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), TAIOffset: 37},
	}, time.Date(2016, 12, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Due(day(2016, 12, 31)); got != 0 {
		t.Errorf("leap beyond expiry announced: %d", got)
	}
	if !tb.Expired(day(2016, 12, 31)) || tb.Expired(day(2016, 12, 30)) {
		t.Error("Expired wrong")
	}
}

func TestDeletion(t *testing.T) {
	tb, err := New([]Entry{
		{At: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), TAIOffset: 37},
		{At: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), TAIOffset: 36},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Due(day(2027, 12, 31)); got != -1 {
		t.Errorf("Due = %d, want -1", got)
	}
}

func TestParseErrors(t *testing.T) {
	bad := []string{
		"",
		"#@ 3707596800\n",                 // no entries
		"2272060800 10\n",                 // no expiry
		"#@ 3707596800\n2272060800\n",     // one field
		"#@ 3707596800\nx 10\n",           // bad time
		"#@ 3707596800\n2272060800 ten\n", // bad offset
		"#@ 3707596800\n2272060800 10\n2272060800 11\n", // duplicate
		"#@ 3707596800\n2272060800 10\n2287785600 13\n", // jump by 3
		"#@ 3707596800\n2272060801 10\n",                // not midnight
		"#@ nope\n2272060800 10\n",
	}
	for _, s := range bad {
		if _, err := Parse([]byte(s)); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) err = %v, want ErrSyntax", s, err)
		}
	}
}

func TestSystemList(t *testing.T) {
	b, err := os.ReadFile(DefaultPath)
	if err != nil {
		t.Fatalf("tzdata list missing: %v", err)
	}
	tb, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Due(day(2016, 12, 31)); got != 1 {
		t.Errorf("system list: 2016-12-31 Due = %d", got)
	}
	if got := tb.TAIOffset(day(2020, 1, 1)); got != 37 {
		t.Errorf("system list: TAI-UTC 2020 = %d", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("#@ 3707596800\n2272060800 10\n"))
	if b, err := os.ReadFile(DefaultPath); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error not ErrSyntax: %v", err)
			}
			return
		}
		es := tb.Entries()
		for i := 1; i < len(es); i++ {
			if !es[i].At.After(es[i-1].At) {
				t.Fatal("entries not sorted")
			}
			if d := tb.Due(es[i].At.Add(-time.Hour)); d != 1 && d != -1 && !es[i].At.After(tb.Expires()) {
				t.Fatalf("entry %v not announced: %d", es[i].At, d)
			}
		}
	})
}

// TestLoadRefusesDevices: a list path pointing at a device is refused, not
// read without end.
func TestLoadRefusesDevices(t *testing.T) {
	if _, err := Load("/dev/zero"); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("Load(/dev/zero) = %v, want ErrNotRegular", err)
	}
}
