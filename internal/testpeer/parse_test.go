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

func TestParseChronyMeasurements(t *testing.T) {
	log := `========================================================================================================================================
   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx
========================================================================================================================================
2026-12-02 00:07:06 127.0.0.1       N  1 111 111 1111  -4  0 1.00 -4.314e-06  1.751e-05  1.249e-06  0.000e+00  1.526e-05 50505300 4B K K
2026-12-02 00:07:06 127.0.0.1       N  1 111 111 0111  -4 -4 0.83  2.718e-06  2.920e-06  1.272e-04  0.000e+00  1.526e-05 50505300 4I K K
2026-12-02 00:07:06 127.0.0.1       N  1 111 111 1111  -4 -4 0.00  2.599e-06  3.157e-06  1.373e-06  0.000e+00  1.526e-05 50505300 4I K D
`
	if m := ParseChronyMeasurements(log); m != (ChronyMeasurements{Basic: 1, Interleaved: 2}) {
		t.Fatalf("parsed %+v", m)
	}
	if m := ParseChronyMeasurements("no measurements\n"); m != (ChronyMeasurements{}) {
		t.Fatalf("parsed %+v from nothing", m)
	}
}
