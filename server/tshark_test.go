package server

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
	"github.com/gnomon-ntp/gnomon/internal/testpeer"
	"github.com/gnomon-ntp/gnomon/ntp"
)

// writePcap writes UDP payloads from 127.0.0.1:123 to 127.0.0.1:40000 as a
// pcap file of raw IPv4 packets (link type 101).
func writePcap(t *testing.T, payloads [][]byte) string {
	t.Helper()
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101)
	for i, p := range payloads {
		n := 20 + 8 + len(p)
		ip := []byte{0x45, 0, byte(n >> 8), byte(n), 0, byte(i), 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(ip[j])<<8 | uint32(ip[j+1])
		}
		for sum>>16 != 0 {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := []byte{0, 123, 0x9c, 0x40, byte((8 + len(p)) >> 8), byte(8 + len(p)), 0, 0}
		b = binary.LittleEndian.AppendUint32(b, uint32(1764064800+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = append(append(append(b, ip...), udp...), p...)
	}
	f := filepath.Join(t.TempDir(), "replies.pcap")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRepliesWellFormedForWireshark has Wireshark's NTP dissector read every
// kind of reply gnomon sends and finds none malformed.
func TestRepliesWellFormedForWireshark(t *testing.T) {
	tshark := testpeer.Tshark(t)
	var payloads [][]byte
	for _, st := range []bool{true, false} {
		out := make([]byte, ntp.HeaderLen)
		state := syncedState()
		if !st {
			state = nil
		}
		if n, why := Respond(ntpcap.Chrony, testRx, testTx, state, out); why != DropNone || n != ntp.HeaderLen {
			t.Fatal(why)
		}
		payloads = append(payloads, out)
	}
	kod := make([]byte, ntp.HeaderLen)
	RespondRateKoD(ntpcap.Ntpdig, 6, kod)
	payloads = append(payloads, kod)
	info := defaultControlInfo()
	for _, req := range [][]byte{
		ntpcap.NtpqRV,
		ctlReq(ctlOpReadStat, 3, 0, ""),
		ctlReq(ctlOpReadVar, 4, 1, ""),
		ctlReq(ctlOpReadVar, 5, 0, "nosuchvar"),
	} {
		r, ok := buildControl(req, refclockSnapshot(syncedState(), testTx), &info, make([]byte, 0, 4096))
		if !ok {
			t.Fatal("no control reply")
		}
		for i := range r.fragments() {
			f := make([]byte, controlMaxFrag)
			payloads = append(payloads, f[:r.fragment(i, f)])
		}
	}
	long := controlReply{version: 2, op: ctlOpReadVar, seq: 6, data: []byte(strings.Repeat("filtdelay=0.001000, ", 50))}
	for i := range long.fragments() {
		f := make([]byte, controlMaxFrag)
		payloads = append(payloads, f[:long.fragment(i, f)])
	}
	pcap := writePcap(t, payloads)
	out, err := exec.Command(tshark, "-n", "-r", pcap, "-T", "fields", "-E", "separator=,",
		"-e", "ntp.stratum", "-e", "ntp.refid", "-e", "ntp.ctrl.flags2.opcode", "-e", "ntp.ctrl.offset",
		"-e", "_ws.malformed", "-e", "_ws.expert.severity").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	t.Logf("tshark fields (stratum/refid/opcode/offset/malformed/expert):\n%s", out)
	want := []string{
		"1,50505300,,,,", "16,494e4954,,,,", "0,52415445,,,,", // answer, unsynchronised answer, RATE KoD
		",,2,0,,", ",,1,0,,", ",,2,0,,", ",,2,0,,", // READVAR sys, READSTAT, READVAR peer, error
		",,2,0,,", ",,2,468,,", ",,2,936,,", // one reply in three fragments
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tshark read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
