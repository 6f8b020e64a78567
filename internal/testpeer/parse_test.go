package testpeer

import "testing"

func TestParseNtpdig(t *testing.T) {
	out := "2026-11-25 09:43:48.375059 (+0000) -0.000001 +/- 0.000210 127.0.0.1 s1 no-leap\n"
	r, err := ParseNtpdig(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.OffsetS != -0.000001 || r.ErrBoundS != 0.000210 || r.Host != "127.0.0.1" || r.Stratum != 1 || r.Leap != "no-leap" {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := ParseNtpdig("ntpdig: no eligible servers\n"); err == nil {
		t.Fatal("a failure line parsed as a result")
	}
}

func TestParseChronydQ(t *testing.T) {
	if v, ok := ParseChronydQ("2026-11-25T10:00:00Z System clock wrong by -2.500012 seconds (ignored)\n"); !ok || v != -2.500012 {
		t.Fatalf("got %v %v", v, ok)
	}
	if _, ok := ParseChronydQ("No suitable source for synchronisation\n"); ok {
		t.Fatal("no measurement parsed as one")
	}
}
