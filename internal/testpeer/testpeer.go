// Package testpeer finds the real NTP peers (chronyd, ntpq, ntpdig, ntpdate,
// tshark) that tests run against; scripts/install-test-deps.sh installs them.
// A missing peer fails the test: these tests are not optional.
package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir is where scripts/install-test-deps.sh unpacks chrony and ntpsec.
func Dir() string {
	if d := os.Getenv("GNOMON_PEERS"); d != "" {
		return d
	}
	return "/opt/gnomon-peers"
}

func find(t testing.TB, name string, unpacked ...string) string {
	t.Helper()
	for _, p := range unpacked {
		p = filepath.Join(Dir(), p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: run scripts/install-test-deps.sh (make test does)", name)
	return ""
}

// Chronyd returns the path of chronyd.
func Chronyd(t testing.TB) string { return find(t, "chronyd", "chrony/usr/sbin/chronyd") }

// Ntpq returns the path of ntpsec's ntpq (a Python script: run it with Python3).
func Ntpq(t testing.TB) string { return find(t, "ntpq", "ntpsec/usr/bin/ntpq") }

// Ntpdig returns the path of ntpsec's ntpdig (a Python script).
func Ntpdig(t testing.TB) string { return find(t, "ntpdig") }

// Ntpdate returns the path of ntpsec's ntpdate wrapper (a shell script calling ntpdig).
func Ntpdate(t testing.TB) string { return find(t, "ntpdate") }

// Tshark returns the path of tshark.
func Tshark(t testing.TB) string { return find(t, "tshark") }

// Python3 is Debian's python, which has ntpsec's modules (another python3
// may come first on PATH).
const Python3 = "/usr/bin/python3"
