// Package ntpclient is gnomon's client of upstream NTP servers. Its core is
// pure (exchange.go, filter.go, peer.go): a reply's timestamps become a
// measurement after the RFC 5905 section 8 checks, the clock filter keeps
// the minimum-delay sample of the last eight (section 10), and a Peer holds
// the reachability register, the poll interval and the kiss-o'-death state.
// The Poller (poller.go) is the I/O edge: one goroutine per upstream, a fresh
// random source port and a random transmit timestamp per request, kernel
// receive timestamps, DNS re-resolution when a server stops answering.
package ntpclient
