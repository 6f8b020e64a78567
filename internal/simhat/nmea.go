package simhat

import (
	"fmt"
	"time"
)

// The hat's fixed position and constellation: a receiver on a roof near
// Greenwich with a healthy 3D fix, as a u-blox M8 (GPS+GLONASS, talker GN,
// NMEA 4.0 sentence layout) reports it.
const (
	lat      = "5128.61200"
	latHemi  = "N"
	lon      = "00000.46000"
	lonHemi  = "W"
	altitude = "45.3"
	geoidSep = "47.0"
	numSats  = 9
	pdop     = "1.62"
	hdop     = "0.94"
	vdop     = "1.32"
)

var satIDs = []int{2, 5, 12, 13, 15, 18, 20, 25, 29}

// sky places the used satellites and two more in view but not used: PRN,
// elevation and azimuth in degrees, SNR in dB (0: not tracked).
var sky = [][4]int{
	{2, 62, 45, 41}, {5, 35, 120, 38}, {12, 71, 300, 44}, {13, 20, 200, 33}, {15, 48, 250, 40},
	{18, 15, 80, 30}, {20, 55, 160, 42}, {25, 28, 10, 36}, {29, 40, 330, 39}, {31, 5, 100, 0}, {32, 8, 270, 0},
}

// checksum is the NMEA 0183 checksum: the XOR of every byte between '$' and '*'.
func checksum(body string) byte {
	var c byte
	for i := 0; i < len(body); i++ {
		c ^= body[i]
	}
	return c
}

// Sentence frames an NMEA body (without "$" and checksum) as "$body*CS\r\n".
func Sentence(body string) string {
	return fmt.Sprintf("$%s*%02X\r\n", body, checksum(body))
}

// Sentences returns the NMEA burst a receiver sends after the pulse that began
// UTC second sec: RMC, GGA, GSA and a GSV cycle, each with a valid
// checksum and CR LF.
func Sentences(sec time.Time) []string {
	t := sec.UTC()
	hms := fmt.Sprintf("%02d%02d%02d.00", t.Hour(), t.Minute(), t.Second())
	dmy := fmt.Sprintf("%02d%02d%02d", t.Day(), int(t.Month()), t.Year()%100)
	rmc := fmt.Sprintf("GNRMC,%s,A,%s,%s,%s,%s,0.011,,%s,,,A", hms, lat, latHemi, lon, lonHemi, dmy)
	gga := fmt.Sprintf("GNGGA,%s,%s,%s,%s,%s,1,%02d,%s,%s,M,%s,M,,", hms, lat, latHemi, lon, lonHemi, numSats, hdop, altitude, geoidSep)
	gsa := "GNGSA,A,3"
	for i := 0; i < 12; i++ {
		if i < len(satIDs) {
			gsa += fmt.Sprintf(",%02d", satIDs[i])
		} else {
			gsa += ","
		}
	}
	gsa += "," + pdop + "," + hdop + "," + vdop
	out := []string{Sentence(rmc), Sentence(gga), Sentence(gsa)}
	n := (len(sky) + 3) / 4
	for i := 0; i < n; i++ {
		gsv := fmt.Sprintf("GPGSV,%d,%d,%02d", n, i+1, len(sky))
		for _, s := range sky[i*4 : min(i*4+4, len(sky))] {
			gsv += fmt.Sprintf(",%02d,%02d,%03d,", s[0], s[1], s[2])
			if s[3] > 0 {
				gsv += fmt.Sprintf("%02d", s[3])
			}
		}
		out = append(out, Sentence(gsv))
	}
	return out
}
