package refclock

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

// TestConfigFieldErrors: the Locker's problems come as *FieldErrors naming
// the Go field, under "Locker." from Config; the edge delay is bounded by
// MaxEdgeDelay either side.
func TestConfigFieldErrors(t *testing.T) {
	c := DefaultConfig()
	c.Locker.NMEADelay, c.Locker.MaxNMEADelay = 300*time.Millisecond, 250*time.Millisecond
	c.Locker.EdgeDelay = MaxEdgeDelay + time.Microsecond
	var got []string
	for _, err := range fielderr.All(c.Validate()) {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v (%T) is not a *FieldError", err, err)
		}
		got = append(got, fe.Field+": "+fe.Err.Error())
	}
	want := "Locker.MaxNMEADelay: 250ms is below the typical NMEA delay 300ms|Locker.EdgeDelay: 1.001ms is outside -1ms..1ms"
	if strings.Join(got, "|") != want {
		t.Errorf("errors %q, want %q", got, want)
	}
	for _, d := range []time.Duration{-MaxEdgeDelay, MaxEdgeDelay, -150 * time.Nanosecond} {
		if err := (LockerConfig{EdgeDelay: d}).Validate(); err != nil {
			t.Errorf("edge delay %v refused: %v", d, err)
		}
	}
	if err := (LockerConfig{EdgeDelay: -MaxEdgeDelay - 1}).Validate(); err == nil {
		t.Error("edge delay beyond -MaxEdgeDelay accepted")
	}
}
