// Package depcheck lists what a package depends on, for the tests that keep
// a package's dependencies in bounds (ntp: the standard library only; udpio:
// and golang.org/x/sys; pps: no hardware drivers).
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// NonStandard returns the import paths outside the standard library that
// the package in the current directory (a test's own) depends on, directly
// or not (go list -deps), itself left out. It fails t if go list does not
// run or answers oddly.
func NonStandard(t testing.TB) []string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	self, err := exec.Command(goBin, "list", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	// go list -deps names the package itself last.
	if len(deps) == 0 || deps[len(deps)-1] != strings.TrimSpace(string(self)) {
		t.Fatalf("go list output looks wrong (%s not last):\n%s", self, out)
	}
	return deps[:len(deps)-1]
}
