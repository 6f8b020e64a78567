package server

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sync"

	"github.com/gnomon-ntp/gnomon/ntp"
)

// Interleaved mode (RFC 5905 interleaved, as chrony serves it): a client
// asking in interleaved mode puts the receive timestamp of our previous
// reply to it in its request's origin field; we answer with the kernel's
// transmit timestamp of that previous reply, which could not be in the
// previous reply itself. The server keeps, per client address, the receive
// timestamp each interleaved-asking client's reply carried and that reply's
// transmit time (the daemon's stamp, replaced by the kernel's once it is
// read from the error queue).
//
// Like chrony, every reply's receive timestamp has its lowest bit set and
// its transmit timestamp its lowest bit clear (a quarter of a nanosecond),
// so only requests whose origin has the bit set are looked up and saved:
// a basic-mode client (origin zero or its own transmit time) costs nothing.

// xleaveWays is the number of entries per bucket; xleaveBuckets the number
// of buckets (a power of two) and xleaveShards the number of locks. The
// table holds xleaveBuckets*xleaveWays entries at most, whatever the load:
// 16384 entries of 48 octets, under 1 MiB.
const (
	xleaveWays    = 4
	xleaveBuckets = 4096
	xleaveShards  = 64
)

// xleaveEntry is one saved reply: to addr, carrying receive timestamp rx,
// sent at tx. seq orders the entries for eviction (0: free).
type xleaveEntry struct {
	addr netip.Addr
	rx   ntp.Time
	tx   ntp.Time
	seq  uint64
}

// xleaveTable is the bounded table of saved replies. A bucket is chosen by
// the client address, so a flood from one address evicts only the entries
// of the addresses sharing its bucket, and a flood from many turns clients
// back to basic mode (a miss is answered in basic mode) without growing
// anything. Safe for concurrent use by the workers.
type xleaveTable struct {
	seed    maphash.Seed
	shards  [xleaveShards]sync.Mutex
	buckets [xleaveBuckets][xleaveWays]xleaveEntry
	seq     [xleaveShards]uint64
}

func newXleaveTable() *xleaveTable { return &xleaveTable{seed: maphash.MakeSeed()} }

// bucket returns the bucket index of addr and its shard.
func (t *xleaveTable) bucket(addr netip.Addr) (int, int) {
	a := addr.As16()
	h := maphash.Bytes(t.seed, a[:])
	b := int(h & (xleaveBuckets - 1))
	return b, b % xleaveShards
}

// take returns the transmit time of the reply to addr that carried receive
// timestamp rx, and forgets it (a saved transmit time is served once, so a
// replayed request gets a basic answer); false if there is none.
func (t *xleaveTable) take(addr netip.Addr, rx ntp.Time) (ntp.Time, bool) {
	var tx ntp.Time
	found := t.with(addr, rx, func(e *xleaveEntry) {
		tx = e.tx
		*e = xleaveEntry{}
	})
	return tx, found && tx != 0
}

// with calls f, under the shard's lock, on the entry saved for addr with
// receive timestamp rx, and reports whether there was one.
func (t *xleaveTable) with(addr netip.Addr, rx ntp.Time, f func(e *xleaveEntry)) bool {
	b, sh := t.bucket(addr)
	t.shards[sh].Lock()
	defer t.shards[sh].Unlock()
	for i := range t.buckets[b] {
		e := &t.buckets[b][i]
		if e.seq != 0 && e.rx == rx && e.addr == addr {
			f(e)
			return true
		}
	}
	return false
}

// put saves a reply to addr carrying receive timestamp rx and sent at tx,
// evicting the oldest entry of the bucket when it is full.
func (t *xleaveTable) put(addr netip.Addr, rx, tx ntp.Time) {
	b, sh := t.bucket(addr)
	t.shards[sh].Lock()
	defer t.shards[sh].Unlock()
	t.seq[sh]++
	victim := 0
	for i := range t.buckets[b] {
		e := &t.buckets[b][i]
		if e.seq == 0 || e.rx == rx && e.addr == addr {
			victim = i
			break
		}
		if e.seq < t.buckets[b][victim].seq {
			victim = i
		}
	}
	t.buckets[b][victim] = xleaveEntry{addr: addr, rx: rx, tx: tx, seq: t.seq[sh]}
}

// update replaces the transmit time of the saved reply to addr carrying rx
// (the kernel's stamp arrived); nothing if it was evicted or served.
func (t *xleaveTable) update(addr netip.Addr, rx, tx ntp.Time) {
	t.with(addr, rx, func(e *xleaveEntry) { e.tx = tx })
}

// asksInterleaved reports whether the decoded request h may be in
// interleaved mode (chrony's test): NTPv4, an origin with the lowest bit
// set (one of our receive timestamps), and receive and transmit fields
// that differ.
func asksInterleaved(h *ntp.Header) bool {
	return h.Version == 4 && h.OriginTime&1 == 1 && h.ReceiveTime != h.TransmitTime
}

// Offsets of the timestamps in an NTP header (RFC 5905 figure 8).
const (
	offOrigin   = 24
	offReceive  = 32
	offTransmit = 40
)

// markReceive sets the lowest bit of the receive timestamp of the reply in
// out, which tells our receive timestamps from other values when a client
// echoes one as its origin.
func markReceive(out []byte) { out[offReceive+7] |= 1 }

// receiveOf returns the receive timestamp of the reply in out.
func receiveOf(out []byte) ntp.Time { return ntp.Time(binary.BigEndian.Uint64(out[offReceive:])) }

// putTransmit writes tx as the transmit timestamp of the reply in out, its
// lowest bit clear (so it never equals a receive timestamp).
func putTransmit(out []byte, tx ntp.Time) { ntp.PutTransmitTime(out, tx&^1) }

// interleave turns the basic reply in out to the request h into an
// interleaved one: origin is the request's receive field (the client's
// receive time of our previous reply) and transmit the precise transmit
// time of that previous reply.
func interleave(out []byte, h *ntp.Header, prevTx ntp.Time) {
	binary.BigEndian.PutUint64(out[offOrigin:], uint64(h.ReceiveTime))
	putTransmit(out, prevTx)
}
