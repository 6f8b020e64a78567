package server

import (
	"encoding/binary"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

// Mode 6 control messages (RFC 1305 appendix B, RFC 9327), answered
// read-only and only to loopback sources so `ntpq -p` and `ntpq -c rv` work
// on the box. This is the one stated exception to "no reply larger than its
// request": a READVAR reply is several hundred octets in up to a few
// fragments, which is why it is never sent off the host.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|LI | VN  |  6  |R|E|M| OpCode  |           Sequence            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Status             |        Association ID         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Offset             |             Count             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Data (Count octets, at most 468, padded to 32 bits)      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// controlHeaderLen is the mode 6 header length (RFC 1305 appendix B).
const controlHeaderLen = 12

// controlMaxData is the most data one fragment carries (ntpd's
// CTL_MAX_DATA_LEN, a multiple of 4 so fragments need no inner padding).
const controlMaxData = 468

// controlMaxFrag is the longest fragment: header and full data.
const controlMaxFrag = controlHeaderLen + controlMaxData

// Bits of the second octet (RFC 1305 appendix B).
const (
	ctlResponse = 0x80
	ctlError    = 0x40
	ctlMore     = 0x20
	ctlOpMask   = 0x1f
)

// Opcodes (RFC 1305 appendix B; RFC 9327 section 2).
const (
	ctlOpReadStat   = 1
	ctlOpReadVar    = 2
	ctlOpWriteVar   = 3
	ctlOpWriteClock = 5
	ctlOpSetTrap    = 6
	ctlOpConfigure  = 8
	ctlOpSaveConfig = 9
	ctlOpUnsetTrap  = 31
)

// Error codes, in the high octet of the status word of an error response.
const (
	cerrPermission = 1
	cerrBadFormat  = 2
	cerrBadOp      = 3
	cerrBadAssoc   = 4
	cerrUnknownVar = 5
)

// Peer status word bits (RFC 1305 appendix B, ntpd ntp_control.h). The
// selection codes are ntpq -p's tally codes.
const (
	pstConfig      = 0x80
	pstReach       = 0x10
	pstRejected    = 0 // ' '
	pstFalseticker = 1 // 'x'
	pstOutlier     = 3 // '-'
	pstCandidate   = 4 // '+'
	pstSysPeer     = 6 // '*'
	pstPPSPeer     = 7 // 'o'
)

// System status word clock sources.
const (
	sstSourceUnspec = 0
	sstSourceAtom   = 1 // PPS
	sstSourceUHF    = 4 // GPS (ntpd's class for satellite receivers)
	sstSourceNTP    = 6 // an upstream NTP server
)

// controlInfo is the constant part of the system variables.
type controlInfo struct {
	version   string
	processor string
	system    string
}

func defaultControlInfo() controlInfo {
	return controlInfo{
		version:   "gnomon " + runtime.Version(),
		processor: runtime.GOARCH,
		system:    "Linux",
	}
}

// controlReply is a mode 6 response before fragmentation.
type controlReply struct {
	leap    uint8
	version uint8
	op      uint8
	seq     uint16
	status  uint16
	assoc   uint16
	err     bool
	data    []byte
}

// fragments is the number of fragments the reply takes (at least one).
func (r *controlReply) fragments() int {
	if len(r.data) == 0 || r.err {
		return 1
	}
	return (len(r.data) + controlMaxData - 1) / controlMaxData
}

// fragment writes fragment i into out (at least controlMaxFrag octets) and
// returns its length, padded to a multiple of 4 octets as ntpq requires
// (the padding is not counted in Count).
func (r *controlReply) fragment(i int, out []byte) int {
	var data []byte
	if !r.err {
		lo := i * controlMaxData
		hi := min(lo+controlMaxData, len(r.data))
		if lo < hi {
			data = r.data[lo:hi]
		}
	}
	out[0] = r.leap<<6 | (r.version&7)<<3 | ntp.ModeControl
	b1 := ctlResponse | r.op&ctlOpMask
	if r.err {
		b1 |= ctlError
	}
	if i < r.fragments()-1 {
		b1 |= ctlMore
	}
	out[1] = b1
	binary.BigEndian.PutUint16(out[2:], r.seq)
	binary.BigEndian.PutUint16(out[4:], r.status)
	binary.BigEndian.PutUint16(out[6:], r.assoc)
	binary.BigEndian.PutUint16(out[8:], uint16(i*controlMaxData))
	binary.BigEndian.PutUint16(out[10:], uint16(len(data)))
	n := controlHeaderLen + copy(out[controlHeaderLen:], data)
	for n%4 != 0 {
		out[n] = 0
		n++
	}
	return n
}

// buildControl parses the mode 6 request req and builds the reply to it,
// appending the data to buf[:0] (give it a few kilobytes of capacity and it
// does not allocate). It answers from snap: association 0 is the system,
// each source is one association (status.Source.AssocID). ok is false for
// packets that get no reply at all (not a request, malformed): those are
// counted as DropControlBad.
func buildControl(req []byte, snap *status.Snapshot, info *controlInfo, buf []byte) (r controlReply, ok bool) {
	st := snap.Sync
	if len(req) < controlHeaderLen || req[0]&7 != ntp.ModeControl {
		return r, false
	}
	r.version = (req[0] >> 3) & 7
	if r.version == 0 || r.version > 4 || req[1]&(ctlResponse|ctlError|ctlMore) != 0 {
		return r, false
	}
	r.op = req[1] & ctlOpMask
	r.seq = binary.BigEndian.Uint16(req[2:])
	r.assoc = binary.BigEndian.Uint16(req[6:])
	offset := binary.BigEndian.Uint16(req[8:])
	count := int(binary.BigEndian.Uint16(req[10:]))
	if offset != 0 || count > len(req)-controlHeaderLen {
		return r, false
	}
	query := req[controlHeaderLen : controlHeaderLen+count]
	r.leap = uint8(ntp.LeapAlarm)
	if st != nil && st.Synced {
		r.leap = uint8(st.Leap) & 3
	}

	fail := func(code uint16) (controlReply, bool) {
		r.err, r.status, r.data = true, code<<8, nil
		return r, true
	}
	switch r.op {
	case ctlOpReadStat, ctlOpReadVar:
	case ctlOpWriteVar, ctlOpWriteClock, ctlOpSetTrap, ctlOpConfigure, ctlOpSaveConfig, ctlOpUnsetTrap:
		return fail(cerrPermission)
	default:
		return fail(cerrBadOp)
	}
	view := ctlView{st: st, now: snap.Time, info: info, snap: snap}
	if p := snap.SystemPeer(); p != nil {
		view.peer = p.AssocID
	}
	vars, named := systemVars, systemNamedVars
	if r.assoc == 0 {
		r.status = systemStatus(st)
	} else {
		view.src = snap.Assoc(r.assoc)
		if view.src == nil {
			return fail(cerrBadAssoc)
		}
		r.status = peerStatus(view.src)
		vars, named = peerVars, nil
	}
	buf = buf[:0]
	if r.op == ctlOpReadStat {
		if r.assoc == 0 {
			for i := range snap.Sources {
				buf = binary.BigEndian.AppendUint16(buf, snap.Sources[i].AssocID)
				buf = binary.BigEndian.AppendUint16(buf, peerStatus(&snap.Sources[i]))
			}
		}
		r.data = buf
		return r, true
	}
	all := len(trimSpace(query)) == 0
	if !all {
		// Every name asked for must exist (ntpd answers CERR_UNKNOWNVAR).
		for q := query; len(q) > 0; {
			var name []byte
			name, q = nextName(q)
			if len(name) > 0 && findVar(vars, name) < 0 && findVar(named, name) < 0 {
				return fail(cerrUnknownVar)
			}
		}
	}
	buf = appendVars(buf, vars, query, all, view)
	if !all {
		buf = appendVars(buf, named, query, false, view)
	}
	r.data = buf
	return r, true
}

// systemStatus is the system status word: leap, clock source, event
// counter and code (RFC 1305 appendix B).
func systemStatus(st *discipline.SyncState) uint16 {
	leap, src := uint16(ntp.LeapAlarm), uint16(sstSourceUnspec)
	if st != nil && st.Synced {
		leap = uint16(st.Leap) & 3
		switch st.PeerKind {
		case source.KindPPS:
			src = sstSourceAtom
		case source.KindNTP:
			src = sstSourceNTP
		default:
			src = sstSourceUHF
		}
	}
	return leap<<14 | src<<8
}

// peerStatus is a source's peer status word: configured, reachable while it
// gives samples, and its selection standing as ntpq -p's tally code (PPS
// peer 'o' for a pulse-locked system peer).
func peerStatus(src *status.Source) uint16 {
	s := uint16(pstConfig)
	if src.Reach != 0 {
		s |= pstReach
	}
	sel := uint16(pstRejected)
	switch src.State {
	case selection.StateSystemPeer:
		sel = pstSysPeer
		if src.Kind == source.KindPPS {
			sel = pstPPSPeer
		}
	case selection.StateCandidate:
		sel = pstCandidate
	case selection.StateOutlier:
		sel = pstOutlier
	case selection.StateFalseticker:
		sel = pstFalseticker
	}
	return (s | sel) << 8
}

// ctlView is what one mode 6 reply reads: the sync state, the association's
// source (nil for the system), the served time and the constant variables.
type ctlView struct {
	st   *discipline.SyncState
	src  *status.Source
	peer uint16 // the system peer's association ID, 0 with none
	now  time.Time
	info *controlInfo
	snap *status.Snapshot
}

// controlVar is one readable variable: its name and how to append its value.
type controlVar struct {
	name  string
	value func(b []byte, v ctlView) []byte
}

func synced(st *discipline.SyncState) bool { return st != nil && st.Synced }

func leapOf(b []byte, st *discipline.SyncState) []byte {
	if !synced(st) {
		return append(b, '3')
	}
	return strconv.AppendUint(b, uint64(st.Leap)&3, 10)
}

func precisionOf(st *discipline.SyncState) int8 {
	if st == nil {
		return 0
	}
	return st.PrecisionLog2
}

func refIDOf(st *discipline.SyncState) ntp.RefID {
	if !synced(st) || st.RefID.IsZero() {
		return ntp.RefIDInit
	}
	return st.RefID
}

// appendRefID appends a refid as ntpq shows it: ASCII for a refclock or
// kiss code, dotted quad for an address.
func appendRefID(b []byte, id ntp.RefID) []byte {
	return id.AppendString(b)
}

// appendMs appends d in milliseconds with microsecond resolution, as ntpd does.
func appendMs(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/1e6, 'f', 6, 64)
}

// appendTimestamp appends an NTP timestamp in ntpq's hex form 0xssssssss.ffffffff.
func appendTimestamp(b []byte, t time.Time) []byte {
	var ts ntp.Time
	if !t.IsZero() {
		ts = ntp.FromTime(t)
	}
	b = append(b, "0x"...)
	b = appendHex32(b, uint32(ts>>32))
	b = append(b, '.')
	return appendHex32(b, uint32(ts))
}

func appendHex32(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for s := 28; s >= 0; s -= 4 {
		b = append(b, digits[v>>uint(s)&0xf])
	}
	return b
}

// precisionDur is the clock precision as a duration.
func precisionDur(st *discipline.SyncState) time.Duration {
	return time.Duration(math.Ldexp(1e9, int(precisionOf(st))))
}

func rootDispOf(st *discipline.SyncState, now time.Time) time.Duration {
	if st == nil {
		return maxDispersion
	}
	return rootDispersion(st, now)
}

func quoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// systemVars are association 0's variables, in ntpd's order and units
// (delays and offsets in ms, frequency in ppm).
var systemVars = []controlVar{
	{"version", func(b []byte, v ctlView) []byte { return quoted(b, v.info.version) }},
	{"processor", func(b []byte, v ctlView) []byte { return quoted(b, v.info.processor) }},
	{"system", func(b []byte, v ctlView) []byte { return quoted(b, v.info.system) }},
	{"leap", func(b []byte, v ctlView) []byte { return leapOf(b, v.st) }},
	{"stratum", func(b []byte, v ctlView) []byte {
		if !synced(v.st) {
			return append(b, "16"...)
		}
		return strconv.AppendUint(b, uint64(v.st.Stratum), 10)
	}},
	{"precision", func(b []byte, v ctlView) []byte { return strconv.AppendInt(b, int64(precisionOf(v.st)), 10) }},
	{"rootdelay", func(b []byte, v ctlView) []byte {
		if v.st == nil {
			return appendMs(b, 0)
		}
		return appendMs(b, v.st.RootDelay)
	}},
	{"rootdisp", func(b []byte, v ctlView) []byte { return appendMs(b, rootDispOf(v.st, v.now)) }},
	{"refid", func(b []byte, v ctlView) []byte { return appendRefID(b, refIDOf(v.st)) }},
	{"reftime", func(b []byte, v ctlView) []byte {
		if v.st == nil {
			return appendTimestamp(b, time.Time{})
		}
		return appendTimestamp(b, v.st.RefTime)
	}},
	{"clock", func(b []byte, v ctlView) []byte { return appendTimestamp(b, v.now) }},
	{"peer", func(b []byte, v ctlView) []byte {
		if v.peer == 0 || !synced(v.st) {
			return append(b, '0')
		}
		return strconv.AppendUint(b, uint64(v.peer), 10)
	}},
	{"tc", func(b []byte, _ ctlView) []byte { return append(b, '0') }},
	{"mintc", func(b []byte, _ ctlView) []byte { return append(b, '0') }},
	{"offset", func(b []byte, v ctlView) []byte {
		if v.st == nil {
			return appendMs(b, 0)
		}
		return appendMs(b, v.st.OffsetEst)
	}},
	{"frequency", func(b []byte, v ctlView) []byte {
		if v.st == nil {
			return strconv.AppendFloat(b, 0, 'f', 3, 64)
		}
		return strconv.AppendFloat(b, v.st.FreqPPB/1000, 'f', 3, 64)
	}},
	{"sys_jitter", func(b []byte, v ctlView) []byte { return appendMs(b, precisionDur(v.st)) }},
	{"clk_jitter", func(b []byte, v ctlView) []byte { return appendMs(b, precisionDur(v.st)) }},
	// The system peer as ntpq sysinfo shows it: address:port and the
	// association's mode (3, client, as ntpd's refclocks and servers).
	{"peeradr", func(b []byte, v ctlView) []byte {
		p := v.snap.SystemPeer()
		if p == nil || !synced(v.st) {
			return append(b, "0.0.0.0:0"...)
		}
		a, port, _ := peerAddr(p)
		if strings.IndexByte(a, ':') >= 0 {
			b = append(append(append(b, '['), a...), ']')
		} else {
			b = append(b, a...)
		}
		return append(append(b, ':'), port...)
	}},
	{"peermode", func(b []byte, v ctlView) []byte {
		if v.snap.SystemPeer() == nil || !synced(v.st) {
			return append(b, '0')
		}
		return append(b, '3')
	}},
	// rootdist is RFC 5905's root distance: root delay / 2 + root
	// dispersion.
	{"rootdist", func(b []byte, v ctlView) []byte {
		d := rootDispOf(v.st, v.now)
		if v.st != nil {
			d += v.st.RootDelay / 2
		}
		return appendMs(b, d)
	}},
	// clk_wander (ppm) is not estimated by the servo; authdelay is 0 as no
	// request is authenticated.
	{"clk_wander", func(b []byte, _ ctlView) []byte { return append(b, "0.000"...) }},
	{"authdelay", func(b []byte, _ ctlView) []byte { return appendMs(b, 0) }},
}

// serverCount returns the server counters' value for a sysstats name.
func serverCount(v ctlView, name string) uint64 {
	sv := v.snap.Server
	drop := func(reasons ...string) uint64 {
		var n uint64
		for _, d := range sv.Drops {
			for _, r := range reasons {
				if d.Reason == r {
					n += d.Count
				}
			}
		}
		return n
	}
	switch name {
	case "received", "thisver":
		// Versions 1-4 are all served; the server does not count them
		// apart, so every datagram is "this version".
		return sv.Received
	case "badformat":
		return drop("short", "malformed", "version")
	case "declined":
		return drop("mode", "mode7", "control_remote", "control_bad")
	case "limited":
		return drop("rate_limit") + sv.KoD
	case "kodsent":
		return sv.KoD
	case "processed":
		return sv.Answered
	}
	return 0 // oldver, ver1*, badauth, restricted: not counted apart or never happen
}

// statVar is a sysstats counter; its _r twin (since the last reset, which
// never happens) reads the same.
func statVar(name string) []controlVar {
	f := func(b []byte, v ctlView) []byte { return strconv.AppendUint(b, serverCount(v, name), 10) }
	return []controlVar{{"ss_" + name, f}, {"ss_" + name + "_r", f}}
}

// uptimeSeconds is the uptime in whole seconds, counting the second under
// way (at least 1: ntpq's sysstats divides packet counts by it).
func uptimeSeconds(b []byte, v ctlView) []byte {
	return strconv.AppendInt(b, int64(max((v.snap.Uptime+time.Second-1)/time.Second, 1)), 10)
}

// systemNamedVars are association 0's variables read only by name (ntpq
// sysstats and kerninfo), not listed by a plain rv.
var systemNamedVars = func() []controlVar {
	vars := []controlVar{
		{"ss_uptime", uptimeSeconds},
		{"ss_uptime_r", uptimeSeconds},
		{"ss_reset", uptimeSeconds},
		{"ss_reset_r", uptimeSeconds},
		{"ss_numctlreq", func(b []byte, v ctlView) []byte { return strconv.AppendUint(b, v.snap.Server.Control, 10) }},
		{"ss_numctlreq_r", func(b []byte, v ctlView) []byte { return strconv.AppendUint(b, v.snap.Server.Control, 10) }},
	}
	for _, n := range []string{"received", "thisver", "oldver", "ver1", "ver1client", "ver1zero", "ver1symm",
		"badformat", "badauth", "declined", "restricted", "limited", "kodsent", "processed"} {
		vars = append(vars, statVar(n)...)
	}
	// kerninfo: the loop as gnomon runs it. Its own servo steers the
	// kernel clock's frequency; the kernel's PLL and PPS discipline are
	// off, so their PPS counters are 0.
	zero := func(b []byte, _ ctlView) []byte { return append(b, '0') }
	vars = append(vars,
		controlVar{"koffset", func(b []byte, v ctlView) []byte {
			if v.st == nil {
				return appendMs(b, 0)
			}
			return appendMs(b, v.st.OffsetEst)
		}},
		controlVar{"kfreq", func(b []byte, v ctlView) []byte {
			if v.st == nil {
				return strconv.AppendFloat(b, 0, 'f', 3, 64)
			}
			return strconv.AppendFloat(b, v.st.FreqPPB/1000, 'f', 3, 64)
		}},
		controlVar{"kmaxerr", func(b []byte, v ctlView) []byte { return appendMs(b, rootDispOf(v.st, v.now)) }},
		controlVar{"kesterr", func(b []byte, v ctlView) []byte { return appendMs(b, precisionDur(v.st)) }},
		controlVar{"kstflags", func(b []byte, v ctlView) []byte {
			if synced(v.st) {
				return append(b, "nano"...)
			}
			return append(b, "unsync nano"...)
		}},
		controlVar{"ktimeconst", zero},
		controlVar{"kprecis", func(b []byte, v ctlView) []byte { return appendMs(b, precisionDur(v.st)) }},
		controlVar{"kfreqtol", func(b []byte, _ ctlView) []byte { return append(b, "500"...) }},
	)
	for _, n := range []string{"kppsfreq", "kppsstab", "kppsjitter", "kppscalibdur", "kppscalibs", "kppsjitexc", "kppsstbexc", "kppscaliberrs"} {
		vars = append(vars, controlVar{n, zero})
	}
	return vars
}()

// appendVars appends "name=value" for each of vars that query names (every
// one when list), separated by ", " from what buf holds already.
func appendVars(buf []byte, vars []controlVar, query []byte, list bool, view ctlView) []byte {
	for i := range vars {
		if !list && !wanted(query, vars[i].name) {
			continue
		}
		if len(buf) > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, vars[i].name...)
		buf = append(buf, '=')
		buf = vars[i].value(buf, view)
	}
	return buf
}

// refclockAddr is ntpd's pseudo-address of the refclock driver matching
// the sample kind (127.127.22.0 PPS, 127.127.20.0 NMEA), and refclockName
// its ntpsec name, which ntpq -p shows as the remote.
func refclockAddr(k source.Kind) (addr, name string) {
	if k == source.KindPPS {
		return "127.127.22.0", "PPS(0)"
	}
	return "127.127.20.0", "NMEA(0)"
}

// peerAddr is the source's address and host name for srcadr and srchost.
func peerAddr(src *status.Source) (addr, port, name string) {
	if src.Last.Kind.Refclock() || src.Last.Kind == source.KindNone {
		addr, name = refclockAddr(src.Last.Kind)
		return addr, "123", name
	}
	id := string(src.ID)
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return id, "123", id
	}
	return strings.Trim(id[:i], "[]"), id[i+1:], id
}

// peerVars are a source association's variables.
var peerVars = []controlVar{
	{"srcadr", func(b []byte, v ctlView) []byte { a, _, _ := peerAddr(v.src); return append(b, a...) }},
	{"srcport", func(b []byte, v ctlView) []byte { _, p, _ := peerAddr(v.src); return append(b, p...) }},
	{"srchost", func(b []byte, v ctlView) []byte { _, _, n := peerAddr(v.src); return quoted(b, n) }},
	{"dstadr", func(b []byte, _ ctlView) []byte { return append(b, "127.0.0.1"...) }},
	{"dstport", func(b []byte, _ ctlView) []byte { return append(b, "123"...) }},
	{"leap", func(b []byte, v ctlView) []byte {
		if v.src.Last.Local.IsZero() {
			return append(b, '3')
		}
		if v.src.Last.Kind.Refclock() {
			return leapOf(b, v.st)
		}
		return strconv.AppendUint(b, uint64(v.src.Last.Leap)&3, 10)
	}},
	{"stratum", func(b []byte, v ctlView) []byte {
		if v.src.Last.Local.IsZero() && !v.src.Last.Kind.Refclock() {
			return append(b, "16"...)
		}
		return strconv.AppendUint(b, uint64(v.src.Last.Stratum), 10)
	}},
	{"precision", func(b []byte, v ctlView) []byte { return strconv.AppendInt(b, int64(precisionOf(v.st)), 10) }},
	{"rootdelay", func(b []byte, v ctlView) []byte { return appendMs(b, v.src.Last.RootDelay) }},
	{"rootdisp", func(b []byte, v ctlView) []byte { return appendMs(b, v.src.Last.RootDispersion) }},
	{"refid", func(b []byte, v ctlView) []byte { return appendRefID(b, v.src.PeerRefID()) }},
	{"reftime", func(b []byte, v ctlView) []byte { return appendTimestamp(b, v.src.Last.Local) }},
	{"rec", func(b []byte, v ctlView) []byte { return appendTimestamp(b, v.src.Last.Local) }},
	{"reach", func(b []byte, v ctlView) []byte {
		b = append(b, "0x"...)
		return strconv.AppendUint(b, uint64(v.src.Reach), 16)
	}},
	{"unreach", func(b []byte, _ ctlView) []byte { return append(b, '0') }},
	{"hmode", func(b []byte, _ ctlView) []byte { return append(b, '3') }},
	{"pmode", func(b []byte, _ ctlView) []byte { return append(b, '4') }},
	{"hpoll", func(b []byte, v ctlView) []byte { return strconv.AppendInt(b, int64(v.src.PollLog2), 10) }},
	{"ppoll", func(b []byte, v ctlView) []byte { return strconv.AppendInt(b, int64(v.src.PollLog2), 10) }},
	{"headway", func(b []byte, _ ctlView) []byte { return append(b, '0') }},
	{"flash", func(b []byte, _ ctlView) []byte { return append(b, "0x0"...) }},
	{"keyid", func(b []byte, _ ctlView) []byte { return append(b, '0') }},
	{"offset", func(b []byte, v ctlView) []byte { return appendMs(b, v.src.Last.Offset) }},
	{"delay", func(b []byte, v ctlView) []byte { return appendMs(b, v.src.Last.Delay) }},
	{"dispersion", func(b []byte, v ctlView) []byte {
		if v.src.Last.Local.IsZero() {
			return appendMs(b, maxDispersion)
		}
		d := v.src.Last.ErrorBound
		if v.st != nil {
			d += time.Duration(float64(v.src.Age) * v.st.DispersionRate)
		}
		return appendMs(b, d)
	}},
	{"jitter", func(b []byte, v ctlView) []byte { return appendMs(b, max(v.src.Last.Sigma, precisionDur(v.st))) }},
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextName splits the next name off a comma-separated variable list,
// dropping any "=value" (ntpq sends names only for reads).
func nextName(q []byte) (name, rest []byte) {
	i := 0
	for i < len(q) && q[i] != ',' {
		i++
	}
	name, rest = q[:i], q[min(i+1, len(q)):]
	for j := range name {
		if name[j] == '=' {
			name = name[:j]
			break
		}
	}
	return trimSpace(name), rest
}

func findVar(vars []controlVar, name []byte) int {
	for i := range vars {
		if vars[i].name == string(name) {
			return i
		}
	}
	return -1
}

func wanted(query []byte, name string) bool {
	for q := query; len(q) > 0; {
		var n []byte
		n, q = nextName(q)
		if string(n) == name {
			return true
		}
	}
	return false
}
