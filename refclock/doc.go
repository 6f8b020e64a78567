// Package refclock turns a GPS receiver's NMEA time and PPS edges into
// clock samples: it numbers each pulse with the second its sentence names.
package refclock
