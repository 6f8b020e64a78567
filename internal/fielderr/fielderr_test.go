package fielderr

import (
	"errors"
	"testing"
)

func TestErrorAndNest(t *testing.T) {
	e := New("refclock", "NMEADelay", "%v is too long", "2s")
	if e.Error() != "refclock: NMEADelay: 2s is too long" {
		t.Errorf("Error() = %q", e)
	}
	plain := errors.New("refclock: nmea config: bad")
	nested := Nest("Locker", errors.Join(e, errors.Join(New("refclock", "", "whole"), plain)))
	all := All(nested)
	if len(all) != 3 {
		t.Fatalf("All = %v, want 3 errors", all)
	}
	want := []string{"refclock: Locker.NMEADelay: 2s is too long", "refclock: Locker: whole", "refclock: nmea config: bad"}
	for i, w := range want {
		if all[i].Error() != w {
			t.Errorf("error %d = %q, want %q", i, all[i], w)
		}
	}
	var fe *Error
	if !errors.As(all[0], &fe) || fe.Field != "Locker.NMEADelay" || fe.Err.Error() != "2s is too long" {
		t.Errorf("nested field error %+v", fe)
	}
	if fields, other := Fields(nested); len(fields) != 2 || fields[0] != "Locker.NMEADelay" || fields[1] != "Locker" || other != plain {
		t.Errorf("Fields = %q, %v", fields, other)
	}
	if Nest("X", nil) != nil || All(nil) != nil {
		t.Error("nil in, not nil out")
	}
}
