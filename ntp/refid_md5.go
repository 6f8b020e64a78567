package ntp

import "crypto/md5"

// refIDFromIPv6 is the first four octets of the MD5 digest of the address
// (RFC 5905 section 7.3). MD5 is what the RFC prescribes here; it protects
// nothing, so its weakness does not matter.
func refIDFromIPv6(a [16]byte) RefID {
	sum := md5.Sum(a[:])
	return RefID{sum[0], sum[1], sum[2], sum[3]}
}
