// Package ntpcap holds NTP requests as real clients send them, for the
// table tests and fuzz seeds of the codec (ntp) and the server. ntpdig,
// chronyd and ntpq were captured on loopback (a UDP listener printing what
// arrived; ntpdig and ntpq pointed at its port through a getaddrinfo
// wrapper, chronyd -Q with "server 127.0.0.1 port N"); the others are built
// by hand from their sources and packet dumps. The slices are shared:
// callers copy before they modify.
package ntpcap

import "encoding/hex"

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	// Ntpdig is ntpsec ntpdig 1.2.2 (captured): LI 3, v4, mode 3, everything zero but
	// the transmit time.
	Ntpdig = mustHex("e3000000" + "00000000" + "00000000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "eeb13089014aa000")
	// Chrony is chronyd 4.3 -Q as a client (captured; data minimisation: poll 6,
	// precision 32 and a random transmit timestamp, nothing else).
	Chrony = mustHex("23000620" + "00000000" + "00000000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "538c1a8cace5faac")
	// Ntpd is an ntpd 4.2.8 unsynchronised client: stratum 16, poll 6, precision -23,
	// root delay and dispersion 1 s.
	Ntpd = mustHex("e31006e9" + "00010000" + "00010000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "ecd8a4b3a1b2c3d4")
	// NtpdSynced is an ntpd 4.2.8 synchronised client: stratum 2, refid 192.0.2.1, all fields set.
	NtpdSynced = mustHex("230206e9" + "00000a3c" + "00001b2e" + "c0000201" +
		"ecd8a400d0e1f203" + "ecd8a4726e1c2a30" + "ecd8a4726e1d0000" + "ecd8a4b2c6a7ef9e")
	// V3 is a Windows w32time / old SNTP v3 client.
	V3 = mustHex("1b000000" + "00000000" + "00000000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "ecd8a4b2c6a7ef9e")
	// V1 is NTPv1 (RFC 1059): no mode field, so mode 0.
	V1 = mustHex("08000000" + "00000000" + "00000000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "ecd8a4b2c6a7ef9e")
	// MAC is an ntpd symmetric-key client: header + key ID 1 + MD5 digest (68 octets).
	MAC = append(append([]byte{}, NtpdSynced...),
		mustHex("00000001"+"0123456789abcdef0123456789abcdef")...)
	// NTS is an NTS client (RFC 8915): unique identifier (0x0104, 36 octets), cookie
	// (0x0204, 104 octets), authenticator (0x0404, 40 octets).
	NTS = func() []byte {
		b := append([]byte{}, Chrony...)
		b = append(b, ExtField(0x0104, 36)...)
		b = append(b, ExtField(0x0204, 104)...)
		return append(b, ExtField(0x0404, 40)...)
	}()
	// NtpqRV is ntpsec ntpq 1.2.2 -c rv (captured): LI 3, version 2, mode 6, READVAR,
	// sequence 1, association 0, no data.
	NtpqRV = mustHex("d6020001" + "00000000" + "00000000")
	// Monlist is ntpdc monlist: mode 7 REQ_MON_GETLIST_1, implementation 3.
	Monlist = append(mustHex("1700032a"+"00000000"), make([]byte, 40)...)
)

// All is every capture above, for fuzz seeds.
var All = [][]byte{Ntpdig, Chrony, Ntpd, NtpdSynced, V3, V1, MAC, NTS, NtpqRV, Monlist}

// ExtField builds an RFC 7822 extension field of type t and total length n.
func ExtField(t uint16, n int) []byte {
	b := make([]byte, n)
	b[0], b[1] = byte(t>>8), byte(t)
	b[2], b[3] = byte(n>>8), byte(n)
	for i := 4; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}
