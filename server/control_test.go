package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
	"github.com/gnomon-ntp/gnomon/internal/testpeer"
	"github.com/gnomon-ntp/gnomon/ntp"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/source"
	"github.com/gnomon-ntp/gnomon/status"
)

// ctlReq builds a mode 6 request as ntpq does (version 2 by default).
func ctlReq(op uint8, seq, assoc uint16, data string) []byte {
	b := make([]byte, controlHeaderLen, controlHeaderLen+len(data)+3)
	b[0] = 2<<3 | ntp.ModeControl
	b[1] = op
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint16(b[6:], assoc)
	binary.BigEndian.PutUint16(b[10:], uint16(len(data)))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

type ctlResp struct {
	status, assoc uint16
	err           bool
	data          []byte
	frags         int
}

// reassemble checks each fragment as ntpq does and joins their data.
func reassemble(t *testing.T, frags [][]byte, op uint8, seq uint16) ctlResp {
	t.Helper()
	var r ctlResp
	for i, f := range frags {
		if len(f)%4 != 0 || len(f) < controlHeaderLen || len(f) > controlMaxFrag {
			t.Fatalf("fragment %d of %d octets", i, len(f))
		}
		if f[0]&7 != ntp.ModeControl || f[1]&ctlResponse == 0 || f[1]&ctlOpMask != op || binary.BigEndian.Uint16(f[2:]) != seq {
			t.Fatalf("fragment %d header %x", i, f[:controlHeaderLen])
		}
		more := f[1]&ctlMore != 0
		if more != (i < len(frags)-1) {
			t.Fatalf("fragment %d of %d: more bit %v", i, len(frags), more)
		}
		off, cnt := int(binary.BigEndian.Uint16(f[8:])), int(binary.BigEndian.Uint16(f[10:]))
		if off != len(r.data) || controlHeaderLen+cnt > len(f) || (controlHeaderLen+cnt+3)&^3 != len(f) {
			t.Fatalf("fragment %d: offset %d count %d length %d after %d octets", i, off, cnt, len(f), len(r.data))
		}
		r.data = append(r.data, f[controlHeaderLen:controlHeaderLen+cnt]...)
		r.status, r.assoc, r.err = binary.BigEndian.Uint16(f[4:]), binary.BigEndian.Uint16(f[6:]), f[1]&ctlError != 0
	}
	r.frags = len(frags)
	return r
}

// refclockSnapshot is the status of an appliance whose one source is the
// refclock, in the state st describes, at now.
func refclockSnapshot(st *discipline.SyncState, now time.Time) *status.Snapshot {
	snap := &status.Snapshot{Time: now, Sync: st}
	src := status.Source{ID: source.RefclockID, AssocID: 1, PollLog2: 4}
	if st != nil && st.Synced {
		kind := st.PeerKind
		if kind == source.KindNone {
			kind = source.KindPPS
		}
		src.Kind, src.State, src.Reach = kind, selection.StateSystemPeer, 0xff
		src.Last = source.Sample{Source: source.RefclockID, Kind: kind, Local: st.RefTime,
			Offset: st.OffsetEst, RefID: st.RefID}
	}
	snap.Sources = []status.Source{src}
	return snap
}

func control(t *testing.T, req []byte, st *discipline.SyncState) (ctlResp, bool) {
	t.Helper()
	info := defaultControlInfo()
	r, ok := buildControl(req, refclockSnapshot(st, testTx), &info, make([]byte, 0, 4096))
	if !ok {
		return ctlResp{}, false
	}
	var frags [][]byte
	for i := range r.fragments() {
		f := make([]byte, controlMaxFrag)
		frags = append(frags, f[:r.fragment(i, f)])
	}
	return reassemble(t, frags, req[1]&ctlOpMask, binary.BigEndian.Uint16(req[2:])), true
}

func TestControlReadStat(t *testing.T) {
	for _, tc := range []struct {
		name      string
		st        *discipline.SyncState
		sys, peer uint16
		wantLeap3 bool
	}{
		{"pps", syncedState(), 0<<14 | 1<<8, (0x80 | 0x10 | 7) << 8, false},
		{"gps", func() *discipline.SyncState {
			s := syncedState()
			s.RefID, s.PeerKind = ntp.RefIDGPS, source.KindGPS
			return s
		}(), 0<<14 | 4<<8, (0x80 | 0x10 | 6) << 8, false},
		{"leap insert", func() *discipline.SyncState { s := syncedState(); s.Leap = ntp.LeapInsert; return s }(), 1<<14 | 1<<8, (0x80 | 0x10 | 7) << 8, false},
		{"unsynced", &discipline.SyncState{}, 3 << 14, 0x80 << 8, true},
		{"nil", nil, 3 << 14, 0x80 << 8, true},
	} {
		r, ok := control(t, ctlReq(ctlOpReadStat, 7, 0, ""), tc.st)
		if !ok || r.err || r.status != tc.sys || r.assoc != 0 {
			t.Errorf("%s: ok %v err %v status %#04x, want %#04x", tc.name, ok, r.err, r.status, tc.sys)
			continue
		}
		if len(r.data) != 4 || binary.BigEndian.Uint16(r.data) != 1 || binary.BigEndian.Uint16(r.data[2:]) != tc.peer {
			t.Errorf("%s: association list %x, want peer status %#04x", tc.name, r.data, tc.peer)
		}
	}
}

func TestControlReadVar(t *testing.T) {
	st := syncedState()
	st.OffsetEst = 1500 * time.Nanosecond
	st.FreqPPB = -12345
	r, ok := control(t, ctlReq(ctlOpReadVar, 9, 0, ""), st)
	if !ok || r.err {
		t.Fatalf("readvar: ok %v err %v", ok, r.err)
	}
	text := string(r.data)
	for _, want := range []string{
		`version="gnomon go`, "leap=0", "stratum=1", "precision=-20", "rootdelay=0.000000",
		"rootdisp=1.511", "refid=PPS", "reftime=0x" + fmt.Sprintf("%08x", uint32(2208988800+testRef.Unix())) + ".00000000",
		"clock=0x", "peer=1", "offset=0.001500", "frequency=-12.345", "sys_jitter=0.000953",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("system variables lack %q:\n%s", want, text)
		}
	}
	// A list of names returns those, in our order.
	r, _ = control(t, ctlReq(ctlOpReadVar, 10, 0, "refid, stratum\r\n"), st)
	if string(r.data) != "stratum=1, refid=PPS" {
		t.Errorf("selected variables: %q", r.data)
	}
	// The refclock's peer variables.
	r, _ = control(t, ctlReq(ctlOpReadVar, 11, 1, ""), st)
	text = string(r.data)
	for _, want := range []string{"srcadr=127.127.22.0", `srchost="PPS(0)"`, "reach=0xff", "refid=PPS", "stratum=0", "hmode=3", "offset=0.001500", "jitter=0.000953"} {
		if !strings.Contains(text, want) {
			t.Errorf("peer variables lack %q:\n%s", want, text)
		}
	}
	if r.status != (0x80|0x10|7)<<8 || r.assoc != 1 {
		t.Errorf("peer status %#04x assoc %d", r.status, r.assoc)
	}
	// Unsynchronised.
	r, _ = control(t, ctlReq(ctlOpReadVar, 12, 0, "leap,stratum,refid,rootdisp"), nil)
	if string(r.data) != "leap=3, stratum=16, rootdisp=16000.000000, refid=INIT" {
		t.Errorf("unsynced: %q", r.data)
	}
}

func TestControlErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  []byte
		code uint16
	}{
		{"unknown variable", ctlReq(ctlOpReadVar, 1, 0, "stratum,monlist"), cerrUnknownVar},
		{"bad association", ctlReq(ctlOpReadVar, 1, 99, ""), cerrBadAssoc},
		{"write", ctlReq(ctlOpWriteVar, 1, 0, "leap=1"), cerrPermission},
		{"configure", ctlReq(ctlOpConfigure, 1, 0, "restrict default"), cerrPermission},
		{"mru list", ctlReq(10, 1, 0, "nonce=1"), cerrBadOp},
		{"nonce", ctlReq(12, 1, 0, ""), cerrBadOp},
	} {
		r, ok := control(t, tc.req, syncedState())
		if !ok || !r.err || r.status>>8 != tc.code || len(r.data) != 0 {
			t.Errorf("%s: ok %v err %v status %#04x, want code %d", tc.name, ok, r.err, r.status, tc.code)
		}
	}
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"short", ctlReq(ctlOpReadVar, 1, 0, "")[:11]},
		{"response", func() []byte { b := ctlReq(ctlOpReadVar, 1, 0, ""); b[1] |= ctlResponse; return b }()},
		{"more", func() []byte { b := ctlReq(ctlOpReadVar, 1, 0, ""); b[1] |= ctlMore; return b }()},
		{"offset", func() []byte { b := ctlReq(ctlOpReadVar, 1, 0, ""); b[9] = 4; return b }()},
		{"count beyond packet", func() []byte { b := ctlReq(ctlOpReadVar, 1, 0, "ab"); b[11] = 40; return b }()},
		{"version 0", func() []byte { b := ctlReq(ctlOpReadVar, 1, 0, ""); b[0] = ntp.ModeControl; return b }()},
		{"not mode 6", ntpcap.Ntpdig},
	} {
		if _, ok := control(t, tc.req, syncedState()); ok {
			t.Errorf("%s: answered", tc.name)
		}
	}
}

func TestControlFragments(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100) // 1000 octets: 468 + 468 + 64
	r := controlReply{version: 2, op: ctlOpReadVar, seq: 3, data: data}
	var frags [][]byte
	for i := range r.fragments() {
		f := make([]byte, controlMaxFrag)
		frags = append(frags, f[:r.fragment(i, f)])
	}
	got := reassemble(t, frags, ctlOpReadVar, 3)
	if got.frags != 3 || !bytes.Equal(got.data, data) {
		t.Fatalf("%d fragments, data equal %v", got.frags, bytes.Equal(got.data, data))
	}
	// Odd lengths are padded, the padding not counted.
	r.data = data[:5]
	f := make([]byte, controlMaxFrag)
	if n := r.fragment(0, f); n != 20 || binary.BigEndian.Uint16(f[10:]) != 5 {
		t.Fatalf("5 octets of data: fragment of %d, count %d", n, binary.BigEndian.Uint16(f[10:]))
	}
}

func TestControlNoAllocs(t *testing.T) {
	st := syncedState()
	info := defaultControlInfo()
	buf := make([]byte, 0, 4096)
	frag := make([]byte, controlMaxFrag)
	req := ctlReq(ctlOpReadVar, 1, 0, "")
	snap := refclockSnapshot(st, testTx)
	if n := testing.AllocsPerRun(50, func() {
		r, _ := buildControl(req, snap, &info, buf)
		for i := range r.fragments() {
			r.fragment(i, frag)
		}
	}); n != 0 {
		t.Fatalf("%v allocs per READVAR", n)
	}
}

// TestControlOverLoopback asks a served socket as ntpq would, and checks a
// mode 6 reply may exceed its request only here, on loopback.
func TestControlOverLoopback(t *testing.T) {
	r := startServer(t, testConfig("127.0.0.1:0", "[::1]:0"), SystemClock{}, syncedState())
	for i := range 2 {
		c := dial(t, r.addr(i))
		req := ctlReq(ctlOpReadVar, 42, 0, "")
		reply := exchange(t, c, req, 5*time.Second)
		if reply == nil {
			t.Fatal("no mode 6 reply from loopback")
		}
		got := reassemble(t, [][]byte{reply}, ctlOpReadVar, 42)
		if !strings.Contains(string(got.data), "stratum=1") || len(reply) <= len(req) {
			t.Errorf("reply of %d octets: %q", len(reply), got.data)
		}
	}
	if s := r.stats(func(s Stats) bool { return s.Control == 2 }); s.Control != 2 {
		t.Errorf("stats %+v", s)
	}
}

var spaces = regexp.MustCompile(` +`)

// TestNtpqAgainstServer runs ntpsec's ntpq (-p and -c rv) against the
// server through testpeer.PortWrapper.
func TestNtpqAgainstServer(t *testing.T) {
	ntpq := testpeer.Ntpq(t)
	st := syncedState()
	st.RefTime = time.Now().Add(-3 * time.Second)
	r := startServer(t, testConfig("127.0.0.1:0"), SystemClock{}, st)
	wrapper := testpeer.PortWrapper(t, ntpq, r.addr(0).Port())
	run := func(args ...string) string {
		cmd := exec.Command(testpeer.Python3, append([]string{wrapper}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ntpq %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	peers := run("-n", "-p", "127.0.0.1")
	t.Logf("ntpq -p:\n%s", peers)
	if !strings.Contains(peers, "oPPS(0)") || !strings.Contains(peers, ".PPS.") {
		t.Errorf("ntpq -p does not show the PPS refclock as pps.peer:\n%s", peers)
	}
	rv := run("-c", "rv", "127.0.0.1")
	t.Logf("ntpq -c rv:\n%s", rv)
	for _, want := range []string{"stratum=1", "refid=PPS", "leap=00", "precision=-20", "version=\"gnomon"} {
		if !strings.Contains(rv, want) {
			t.Errorf("ntpq -c rv lacks %q", want)
		}
	}
	// The other commands an operator runs: each answers every variable it
	// asks for (ntpq prints ??? for a missing one and a Python traceback
	// for a value of the wrong type).
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"peers", []string{"oPPS(0)", ".PPS.", " 0 l "}},
		{"sysinfo", []string{"system peer: 127.127.22.0:123", "system peer mode: client", "stratum: 1",
			"reference ID: PPS", "root distance", "log2 precision: -20"}},
		{"sysstats", []string{"uptime:", "packets received:", "processed for time:", "control requests:"}},
		{"kerninfo", []string{"pll frequency:", "kernel status: nano", "frequency tolerance: 500"}},
	} {
		out := run("-n", "-c", c.cmd, "127.0.0.1")
		t.Logf("ntpq -c %s:\n%s", c.cmd, out)
		out = spaces.ReplaceAllString(out, " ")
		for _, bad := range []string{"???", "Traceback", "Error", "Unknown variable"} {
			if strings.Contains(out, bad) {
				t.Errorf("ntpq -c %s prints %q", c.cmd, bad)
			}
		}
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("ntpq -c %s lacks %q", c.cmd, want)
			}
		}
	}
}

// Every source in the snapshot is one association, with its tally code in
// the peer status word and its own variables.
func TestControlAssociationPerSource(t *testing.T) {
	snap := refclockSnapshot(syncedState(), testTx)
	snap.Sources = append(snap.Sources, status.Source{ID: "192.0.2.1:123", AssocID: 2, Kind: source.KindNTP,
		State: selection.StateCandidate, Reach: 0x7f, PollLog2: 6, UpstreamRefID: ntp.RefIDFromString("GPS"),
		Last: source.Sample{Source: "192.0.2.1:123", Kind: source.KindNTP, Local: testRef, Offset: 2 * time.Millisecond,
			Delay: 3 * time.Millisecond, Stratum: 2, RefID: ntp.RefIDFromAddr(netip.MustParseAddr("192.0.2.1"))}})
	info := defaultControlInfo()
	r, ok := buildControl(ctlReq(ctlOpReadStat, 1, 0, ""), snap, &info, make([]byte, 0, 4096))
	if !ok || r.err || len(r.data) != 8 {
		t.Fatalf("readstat: ok %v err %v data %x", ok, r.err, r.data)
	}
	if id, ps := binary.BigEndian.Uint16(r.data[4:]), binary.BigEndian.Uint16(r.data[6:]); id != 2 || ps != (0x80|0x10|4)<<8 {
		t.Errorf("upstream association %d status %#04x", id, ps)
	}
	r, ok = buildControl(ctlReq(ctlOpReadVar, 2, 2, ""), snap, &info, make([]byte, 0, 4096))
	if !ok || r.err {
		t.Fatalf("readvar assoc 2: ok %v err %v", ok, r.err)
	}
	text := string(r.data)
	for _, want := range []string{"srcadr=192.0.2.1", "srcport=123", "stratum=2", "refid=GPS", "reach=0x7f", "hpoll=6", "offset=2.000000", "delay=3.000000"} {
		if !strings.Contains(text, want) {
			t.Errorf("upstream variables lack %q:\n%s", want, text)
		}
	}
	if r, _ := buildControl(ctlReq(ctlOpReadVar, 3, 3, ""), snap, &info, make([]byte, 0, 4096)); !r.err {
		t.Error("a third association answered")
	}
}
