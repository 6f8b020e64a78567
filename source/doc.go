// Package source is the vocabulary shared by every time source and their
// consumers: a source-neutral Sample (a GPS/PPS refclock's or an upstream
// NTP server's measurement of the local clock), the source's identity, and
// the Identity a server serves when that source is the system peer. It is
// pure data: no I/O, no goroutines, no logging. Producers (refclock, the
// NTP client) import it; consumers (selection, discipline) import it; it
// imports neither.
package source
