package ntp

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the codec pure: ntp imports the standard library
// only, so the server, the load generator and a client can all share it.
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/gnomon-ntp/gnomon/ntp" {
		t.Fatalf("go list output looks wrong (ntp itself not last):\n%s", out)
	}
	for _, dep := range deps[:len(deps)-1] {
		t.Errorf("ntp depends on %s, outside the standard library", dep)
	}
}
