// Package ntp is the NTP wire format, pure and shared by the server, the
// upstream client and the load generator: the packet header and its
// extension fields (RFC 5905 section 7.3, RFC 7822), the 64-bit timestamp
// and 32-bit short formats with eras (section 6), reference identifiers and
// kiss codes. It does no I/O, starts no goroutines and never allocates while
// decoding or encoding a header.
package ntp
