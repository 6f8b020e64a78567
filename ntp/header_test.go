package ntp

import (
	"bytes"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/ntpcap"
)

func TestDecodeFields(t *testing.T) {
	var h Header
	if err := Decode(ntpcap.NtpdSynced, &h); err != nil {
		t.Fatal(err)
	}
	want := Header{
		Leap: 0, Version: 4, Mode: ModeClient, Stratum: 2, PollLog2: 6, PrecisionLog2: -23,
		RootDelay: 0x0a3c, RootDispersion: 0x1b2e, RefID: [4]byte{192, 0, 2, 1},
		RefTime: 0xecd8a400d0e1f203, OriginTime: 0xecd8a4726e1c2a30,
		ReceiveTime: 0xecd8a4726e1d0000, TransmitTime: 0xecd8a4b2c6a7ef9e,
		TrailerKind: TrailerNone,
	}
	if h != want {
		t.Fatalf("decoded\n %+v\nwant\n %+v", h, want)
	}
}

func TestDecodeTrailers(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
		kind Trailer
		exts uint8
	}{
		{"ntpdig", ntpcap.Ntpdig, nil, TrailerNone, 0},
		{"mac md5", ntpcap.MAC, nil, TrailerMAC, 0},
		{"crypto-NAK", append(append([]byte{}, ntpcap.Ntpd...), 0, 0, 0, 0), nil, TrailerMAC, 0},
		{"sha1 mac", append(append([]byte{}, ntpcap.Ntpd...), make([]byte, 24)...), nil, TrailerMAC, 0},
		{"nts", ntpcap.NTS, nil, TrailerExtensions, 3},
		{"ext then mac", append(append(append([]byte{}, ntpcap.Ntpd...), ntpcap.ExtField(0x0104, 36)...), make([]byte, 20)...), nil, TrailerExtensions, 1},
		{"short", ntpcap.Ntpd[:47], ErrShort, TrailerNone, 0},
		{"empty", nil, ErrShort, TrailerNone, 0},
		{"odd trailer", append(append([]byte{}, ntpcap.Ntpd...), 1, 2, 3), ErrMalformed, TrailerNone, 0},
		{"ext too long", append(append([]byte{}, ntpcap.Ntpd...), append([]byte{1, 4, 0xff, 0xfc}, make([]byte, 96)...)...), ErrMalformed, TrailerNone, 0},
		{"ext len not multiple of 4", append(append([]byte{}, ntpcap.Ntpd...), append([]byte{1, 4, 0, 30}, make([]byte, 96)...)...), ErrMalformed, TrailerNone, 0},
	} {
		var h Header
		err := Decode(tc.b, &h)
		if err != tc.err {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && (h.TrailerKind != tc.kind || h.ExtensionCount != tc.exts) {
			t.Errorf("%s: trailer %d with %d fields, want %d with %d", tc.name, h.TrailerKind, h.ExtensionCount, tc.kind, tc.exts)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, b := range [][]byte{ntpcap.Ntpdig, ntpcap.Chrony, ntpcap.Ntpd, ntpcap.NtpdSynced, ntpcap.V3, ntpcap.V1} {
		var h Header
		if err := Decode(b, &h); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, HeaderLen)
		if n := Encode(&h, out); n != HeaderLen || !bytes.Equal(out, b[:HeaderLen]) {
			t.Errorf("round trip\n %x\ngave\n %x", b, out)
		}
	}
}

func TestPutTransmitTime(t *testing.T) {
	out := append([]byte{}, ntpcap.Ntpdig...)
	PutTransmitTime(out, 0x0102030405060708)
	var h Header
	_ = Decode(out, &h)
	if h.TransmitTime != Time(0x0102030405060708) || h.OriginTime != 0 {
		t.Fatalf("transmit %#x origin %#x", uint64(h.TransmitTime), uint64(h.OriginTime))
	}
}

func TestDecodeEncodeNoAllocs(t *testing.T) {
	var h Header
	out := make([]byte, HeaderLen)
	if n := testing.AllocsPerRun(100, func() {
		_ = Decode(ntpcap.NTS, &h)
		Encode(&h, out)
	}); n != 0 {
		t.Fatalf("%v allocs per decode+encode", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range ntpcap.All {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		err := Decode(b, &h)
		if len(b) < HeaderLen {
			if err != ErrShort {
				t.Fatalf("short packet: %v", err)
			}
			return
		}
		// The header round-trips whatever follows it.
		out := make([]byte, HeaderLen)
		Encode(&h, out)
		if !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("round trip\n %x\ngave\n %x", b[:HeaderLen], out)
		}
	})
}
