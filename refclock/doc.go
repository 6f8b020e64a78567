// Package refclock turns a GPS receiver's NMEA time and PPS edges into
// clock samples: it numbers each pulse with the second its sentence names.
//
// The pieces, pure ones first (no I/O, no goroutines, times passed in):
//
//   - Parser: one NMEA line -> at most one TimeMsg per UTC second (RMC, ZDA,
//     GGA, GNS; GSA for the fix), with an explicit century pivot and GPS
//     week-rollover correction; bad input is counted in NMEAStats.
//   - Locker: pairs each pulse with the sentence that follows it and keeps
//     the numbering by continuity (sequence number and elapsed time), so a
//     sentence naming the wrong second is rejected rather than followed;
//     without pulses it gives millisecond GPS samples from NMEA alone.
//   - Filter: drops gross outliers from PPS samples at once, without bias.
//
// At the I/O edge:
//
//   - NMEAReader: lines from any io.Reader, stamped when read.
//   - ReopenReader: an io.ReadCloser that reopens a failing serial device
//     with backoff.
//   - RefClock / Run: NMEA and PPS goroutines feeding one loop that owns the
//     Locker and Filter and sends Samples.
//
// Signs: Sample.Offset = reference - local; a local clock 1 ms slow gives
// +1 ms.
package refclock
