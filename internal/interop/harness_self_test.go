package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// TestCaptureCatchesMalformed proves the capture check can fail: truncated
// NTP packets sent to port 123 are reported by tshark's dissector.
func TestCaptureCatchesMalformed(t *testing.T) {
	t.Parallel()
	ns := newNetns(t)
	c := startCapture(t, ns, "malformed")
	send := `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in [b"\x23" + b"\0" * 19, b"\xe4\0\0"]:
    s.sendto(p, ("127.0.0.1", 123))
`
	if stdout, stderr, err := ns.run(t, 10*time.Second, testpeer.Python3, "-c", send); err != nil {
		t.Fatalf("send truncated packets: %v %s %s", err, stdout, stderr)
	}
	c.stop(t)
	got := c.malformed(t)
	if n := strings.Count(got, "Malformed"); n != 2 {
		t.Fatalf("tshark flagged %d of 2 truncated packets:\n%s", n, got)
	}
}
