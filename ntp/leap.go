package ntp

// Leap is the leap indicator (RFC 5905 section 7.3, figure 9): a warning of
// an impending leap second, or the alarm of an unsynchronised clock.
type Leap uint8

// Leap indicator values.
const (
	LeapNone   Leap = 0 // no warning
	LeapInsert Leap = 1 // the last minute of the day has 61 seconds
	LeapDelete Leap = 2 // the last minute of the day has 59 seconds
	LeapAlarm  Leap = 3 // clock unsynchronised
)
