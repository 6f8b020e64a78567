//go:build !linux

package udpio

// EnableRxTimestamps fails with ErrUnsupported: kernel receive timestamps
// need Linux.
func EnableRxTimestamps(fd int) (newForm bool, err error) { return false, ErrUnsupported }

// EnablePktinfo fails with ErrUnsupported: packet info needs Linux.
func EnablePktinfo(fd int, ipv6 bool) error { return ErrUnsupported }

// ParseCmsgs finds nothing: no control message is understood off Linux.
func ParseCmsgs(b []byte) Cmsgs { return Cmsgs{} }

// EnableTxTimestamps fails with ErrUnsupported: kernel transmit timestamps
// need Linux.
func EnableTxTimestamps(fd int) error { return ErrUnsupported }
