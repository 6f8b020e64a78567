package ntp

import (
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []time.Time{
		time.Date(2026, 11, 25, 9, 0, 0, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), // era 1 begins
		time.Date(2040, 6, 1, 0, 0, 0, 999999999, time.UTC),
	} {
		got := FromTime(tc).Time()
		if d := got.Sub(tc); d < -time.Nanosecond || d > time.Nanosecond {
			t.Errorf("%v: round trip gave %v (diff %v)", tc, got, d)
		}
	}
}

func TestEraZeroKnownValue(t *testing.T) {
	// 1970-01-01 is 2208988800 s after the NTP epoch.
	if got := FromTime(time.Unix(0, 0)); got.Seconds() != 2208988800 || uint32(got) != 0 {
		t.Fatalf("unix epoch = %#x", uint64(got))
	}
	// Half a second is 0x80000000 in the fraction.
	if got := FromTime(time.Unix(0, 500000000)); uint32(got) != 0x80000000 {
		t.Fatalf("half second fraction = %#x", uint32(got))
	}
}

func TestTimeNear(t *testing.T) {
	ref := time.Date(2036, 2, 7, 6, 28, 10, 0, time.UTC)
	want := ref.Add(10 * time.Second) // crosses the era boundary
	if got := FromTime(want).TimeNear(ref); !got.Equal(want) {
		t.Fatalf("TimeNear = %v, want %v", got, want)
	}
	if got := FromTime(ref.Add(-3 * time.Second)).TimeNear(ref); !got.Equal(ref.Add(-3 * time.Second)) {
		t.Fatalf("TimeNear backwards = %v", got)
	}
}

func TestShort(t *testing.T) {
	if got := ShortFromDuration(time.Second); got != 1<<16 {
		t.Fatalf("1 s = %#x", got)
	}
	if got := ShortFromDuration(time.Microsecond); got != 1 {
		t.Fatalf("1 µs rounds up to one unit, got %d", got)
	}
	if got := ShortFromDuration(-time.Second); got != 0 {
		t.Fatalf("negative = %d", got)
	}
	if got := Short(1 << 15).Duration(); got != 500*time.Millisecond {
		t.Fatalf("0.5 s = %v", got)
	}
}
