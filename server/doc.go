// Package server answers NTP requests (RFC 5905) from the discipline's
// published state: response builder and UDP serving, on the packet codec of
// package ntp.
//
// The response builder (Respond, RespondRateKoD, and the mode 6 builder) is
// pure, like the codec: no I/O, no goroutines, no allocation. Server is the I/O edge: one socket per worker with
// SO_REUSEPORT, recvmmsg/sendmmsg batches, kernel receive timestamps,
// transmit timestamps read just before sendmmsg, a per-address rate limiter
// of fixed size, 0 heap allocations per answered request.
//
// Replies are never longer than their requests: 48 octets, extension fields
// and MACs not echoed. The one exception is mode 6 (ntpq), answered
// read-only and only to loopback sources, where a READVAR reply can exceed
// its request; everything else that is not a client request is dropped and
// counted by DropReason.
package server
