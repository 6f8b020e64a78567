package source

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTimeBounds(t *testing.T) {
	build := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	saved := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	b := NewTimeBounds(0, build, saved, time.Time{})
	if !b.Lower.Equal(saved) || !b.Upper.Equal(saved.Add(DefaultPlausibleSpan)) {
		t.Fatalf("bounds %v .. %v", b.Lower, b.Upper)
	}
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{saved.Add(time.Hour), true},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{build, false}, // before the saved time
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), false},   // a Pi without RTC
		{time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC), false}, // far ahead
		{time.Date(2080, 1, 1, 0, 0, 0, 0, time.UTC), false},   // a week-number fault
		{time.Date(2007, 4, 17, 0, 0, 0, 0, time.UTC), false},  // one era back
		{time.Date(2100, 12, 1, 0, 0, 0, 0, time.UTC), false},  // a two-digit year 00 read as 2100
	} {
		err := b.Check(tc.t)
		if (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.t, err)
		}
		var ie *ImplausibleError
		if err != nil && (!errors.As(err, &ie) || !strings.Contains(err.Error(), tc.t.Format("2006-01-02"))) {
			t.Errorf("error %q does not name the date", err)
		}
	}
	if (TimeBounds{}).Check(time.Time{}) != nil {
		t.Error("zero bounds refused something")
	}
	if b := NewTimeBounds(10*GPSEra, build); !b.Upper.Equal(build.Add(GPSEra)) {
		t.Errorf("span not capped at one era: %v", b.Upper)
	}
}
