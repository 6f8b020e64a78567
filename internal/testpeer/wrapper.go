package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// PortWrapper writes a Python script that runs ntpsec's script (ntpq,
// ntpdig) with the NTP port mapped to port, so it can query a server on a
// test's loopback port; run it with Python3.
func PortWrapper(t testing.TB, script string, port uint16) string {
	t.Helper()
	w := filepath.Join(t.TempDir(), "port_wrapper.py")
	src := fmt.Sprintf(`import runpy, socket, sys
real = socket.getaddrinfo
def lookup(host, service, *args, **kw):
    return real(host, %d if service in ("ntp", 123, "123") else service, *args, **kw)
socket.getaddrinfo = lookup
sys.argv = [%q] + sys.argv[1:]
runpy.run_path(%q, run_name="__main__")
`, port, script, script)
	if err := os.WriteFile(w, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}
