package testpeer

import (
	"fmt"
	"regexp"
	"strconv"
)

// SNTP is ntpdig's (and ntpdate -q's) result line:
// "2026-11-25 09:43:48.375059 (+0000) -0.000001 +/- 0.000210 127.0.0.1 s1 no-leap".
type SNTP struct {
	// OffsetS is the server's time minus the local clock, in seconds.
	OffsetS float64
	// ErrBoundS is ntpdig's error bound, in seconds.
	ErrBoundS float64
	// Host is the address that answered.
	Host string
	// Stratum is the server's stratum.
	Stratum int
	// Leap is ntpdig's leap word ("no-leap", "add-leap", "del-leap", "unsync").
	Leap string
}

var sntpLine = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \([-+]\d{4}\) ([-+]?\d+\.\d+) \+/- (\d+\.\d+) (\S+) s(\d+) (\S+)\s*$`)

// ParseNtpdig reads the first result line of ntpdig's output.
func ParseNtpdig(out string) (SNTP, error) {
	m := sntpLine.FindStringSubmatch(out)
	if m == nil {
		return SNTP{}, fmt.Errorf("no ntpdig result line in %q", out)
	}
	r := SNTP{Host: m[3], Leap: m[5]}
	r.OffsetS, _ = strconv.ParseFloat(m[1], 64)
	r.ErrBoundS, _ = strconv.ParseFloat(m[2], 64)
	r.Stratum, _ = strconv.Atoi(m[4])
	return r, nil
}

var chronyWrong = regexp.MustCompile(`System clock wrong by ([-+]?\d+\.\d+) seconds`)

// ParseChronydQ reads the offset chronyd -Q prints ("System clock wrong by
// 0.000012 seconds (ignored)"): the server's time minus the local clock, in
// seconds. ok is false when chronyd measured nothing.
func ParseChronydQ(out string) (offsetS float64, ok bool) {
	m := chronyWrong.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// ChronyMeasurements counts the lines of a chronyd measurements.log
// (`log measurements`) by the mode its MTxRx column names: basic ("4B K K")
// or interleaved ("4I K K").
type ChronyMeasurements struct {
	Basic, Interleaved int
}

var chronyMeasurement = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ .* (\d)([BI]) [DKH] [DKH]\s*$`)

// ParseChronyMeasurements reads a chronyd measurements.log.
func ParseChronyMeasurements(log string) ChronyMeasurements {
	var m ChronyMeasurements
	for _, l := range chronyMeasurement.FindAllStringSubmatch(log, -1) {
		if l[2] == "I" {
			m.Interleaved++
		} else {
			m.Basic++
		}
	}
	return m
}
