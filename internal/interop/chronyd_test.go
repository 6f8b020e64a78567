package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/testpeer"
)

// TestChronydReference runs the client checks against chronyd (`local
// stratum 1`, never touching the clock: -x) in a namespace of its own: the
// reference the harness was proven on, and what gnomon is held beside.
func TestChronydReference(t *testing.T) {
	t.Parallel()
	ns := newNetns(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony.conf")
	body := fmt.Sprintf("port 123\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 1\ncmdport 0\ndriftfile %s\npidfile %s\n",
		filepath.Join(dir, "drift"), filepath.Join(dir, "chronyd.pid"))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCapture(t, ns, "chronyd")
	srv := ns.start(t, testpeer.Chronyd(t), "-x", "-d", "-u", "root", "-f", conf)
	waitSync(t, ns, "127.0.0.1:123", 30*time.Second)

	r := ntpdig(t, ns, "127.0.0.1")
	if r.Stratum != 1 || r.Leap != "no-leap" || !near(r.OffsetS, 0, clientOffsetTol) {
		t.Errorf("ntpdig: %+v", r)
	}
	r = ntpdate(t, ns, "127.0.0.1")
	if r.Stratum != 1 || !near(r.OffsetS, 0, clientOffsetTol) {
		t.Errorf("ntpdate -q: %+v", r)
	}
	if off := chronyQ(t, ns, "127.0.0.1"); !near(off, 0, clientOffsetTol) {
		t.Errorf("chronyd -Q: %g s", off)
	}
	c.stop(t)
	if n3, _ := checkExchanges(t, c.read(t)); n3 < 3 {
		t.Errorf("capture holds %d requests, want >= 3", n3)
	}
	if srv.exited() {
		t.Fatalf("chronyd exited: %v", srv.err)
	}
}
