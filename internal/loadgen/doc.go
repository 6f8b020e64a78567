// Package loadgen is gnomon's NTP load generator for benchmarks and tests: it
// offers paced (or closed-loop) NTPv4 client load to a server on loopback only.
//
// The pure parts (target check, requests and replies on package ntp's codec,
// matching, latency histogram, pacing plan) do no I/O; Run and Ceiling own
// the sockets.
package loadgen
