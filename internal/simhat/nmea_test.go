package simhat

import (
	"strconv"
	"strings"
	"testing"
	"time"

	nmea "github.com/adrianmo/go-nmea"
)

func TestSentencesChecksums(t *testing.T) {
	sec := time.Date(2026, 11, 25, 9, 41, 7, 0, time.UTC)
	got := Sentences(sec)
	if len(got) != 6 {
		t.Fatalf("got %d sentences, want 6 (RMC, GGA, GSA, 3 GSV)", len(got))
	}
	for _, s := range got {
		if !strings.HasPrefix(s, "$") || !strings.HasSuffix(s, "\r\n") {
			t.Fatalf("%q is not framed as $...*CS\\r\\n", s)
		}
		line := strings.TrimSuffix(s, "\r\n")
		star := strings.LastIndexByte(line, '*')
		if star != len(line)-3 {
			t.Fatalf("%q: checksum is not two hex digits at the end", line)
		}
		want, err := strconv.ParseUint(line[star+1:], 16, 8)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var x byte
		for _, c := range []byte(line[1:star]) {
			x ^= c
		}
		if uint64(x) != want {
			t.Errorf("%q: checksum %02X, computed %02X", line, want, x)
		}
		// An independent parser agrees (it rejects bad checksums).
		if _, err := nmea.Parse(line); err != nil {
			t.Errorf("go-nmea rejects %q: %v", line, err)
		}
	}
}

func TestSentencesNameTheSecond(t *testing.T) {
	sec := time.Date(2031, 2, 3, 23, 59, 58, 0, time.UTC)
	got := Sentences(sec)
	rmcAny, err := nmea.Parse(strings.TrimSpace(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	rmc, ok := rmcAny.(nmea.RMC)
	if !ok {
		t.Fatalf("first sentence is %T, want RMC", rmcAny)
	}
	if rmc.Validity != nmea.ValidRMC {
		t.Errorf("RMC validity %q, want A", rmc.Validity)
	}
	if rmc.Time.Hour != 23 || rmc.Time.Minute != 59 || rmc.Time.Second != 58 || rmc.Time.Millisecond != 0 {
		t.Errorf("RMC time %v, want 23:59:58.000", rmc.Time)
	}
	if rmc.Date.DD != 3 || rmc.Date.MM != 2 || rmc.Date.YY != 31 {
		t.Errorf("RMC date %v, want 03/02/31", rmc.Date)
	}
	ggaAny, err := nmea.Parse(strings.TrimSpace(got[1]))
	if err != nil {
		t.Fatal(err)
	}
	gga, ok := ggaAny.(nmea.GGA)
	if !ok {
		t.Fatalf("second sentence is %T, want GGA", ggaAny)
	}
	if gga.FixQuality != nmea.GPS || gga.NumSatellites != numSats || gga.Time.Second != 58 {
		t.Errorf("GGA %+v: want GPS fix, %d satellites, second 58", gga, numSats)
	}
	gsaAny, err := nmea.Parse(strings.TrimSpace(got[2]))
	if err != nil {
		t.Fatal(err)
	}
	gsa, ok := gsaAny.(nmea.GSA)
	if !ok {
		t.Fatalf("third sentence is %T, want GSA", gsaAny)
	}
	if gsa.FixType != nmea.Fix3D || len(gsa.SV) != len(satIDs) {
		t.Errorf("GSA %+v: want 3D fix with %d satellites", gsa, len(satIDs))
	}
}

func TestChecksumKnownSentence(t *testing.T) {
	// From the u-blox M8 protocol description.
	const body = "GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,"
	if got := checksum(body); got != 0x5B {
		t.Errorf("checksum = %02X, want 5B", got)
	}
}
