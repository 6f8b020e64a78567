package ntp

import (
	"net/netip"
	"testing"
)

func TestRefID(t *testing.T) {
	for _, tc := range []struct {
		id        RefID
		want      string
		printable bool
	}{
		{RefIDPPS, "PPS", true},
		{RefIDGPS, "GPS", true},
		{RefIDInit, "INIT", true},
		{KissRate, "RATE", true},
		{RefIDFromString("TOOLONG"), "TOOL", true},
		{RefIDFromAddr(netip.MustParseAddr("192.0.2.7")), "192.0.2.7", false},
		{RefIDFromAddr(netip.MustParseAddr("::ffff:192.0.2.7")), "192.0.2.7", false},
		{RefID{}, "0.0.0.0", false},
		{RefID{'P', 0, 'S', 0}, "80.0.83.0", false},
	} {
		if got := tc.id.String(); got != tc.want || tc.id.Printable() != tc.printable {
			t.Errorf("%v: String %q printable %v, want %q %v", [4]byte(tc.id), got, tc.id.Printable(), tc.want, tc.printable)
		}
	}
	// IPv6: the first four octets of the address's MD5 (RFC 5905 7.3),
	// the same for every call and different across addresses.
	a, b := RefIDFromAddr(netip.MustParseAddr("2001:db8::1")), RefIDFromAddr(netip.MustParseAddr("2001:db8::2"))
	if a == b || a.IsZero() || a != RefIDFromAddr(netip.MustParseAddr("2001:db8::1")) {
		t.Errorf("IPv6 refids %v %v", a, b)
	}
	if txt, _ := RefIDPPS.MarshalText(); string(txt) != "PPS" {
		t.Errorf("MarshalText %q", txt)
	}
	if n := testing.AllocsPerRun(10, func() { _ = RefIDPPS.AppendString(make([]byte, 0, 16)) }); n != 0 {
		t.Errorf("AppendString: %v allocs", n)
	}
}
