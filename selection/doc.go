// Package selection chooses, among the time sources, the system peer whose
// samples steer the clock, and decides the identity of the served time
// (stratum, refid, root delay, root dispersion, leap) from it (RFC 5905
// section 11.2). It is pure: no goroutines, no I/O, no logging; times are
// passed in. Today the GPS refclock is the only candidate; the upstream NTP
// servers join it through the same Selector.
package selection
