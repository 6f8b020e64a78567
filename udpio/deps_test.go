package udpio

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps udpio small enough for the server, the load
// generator and a client to share: the standard library and
// golang.org/x/sys only.
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
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/gnomon-ntp/gnomon/udpio" {
		t.Fatalf("go list output looks wrong (udpio itself not last):\n%s", out)
	}
	for _, dep := range deps[:len(deps)-1] {
		if !strings.HasPrefix(dep, "golang.org/x/sys/") {
			t.Errorf("udpio depends on %s, outside the standard library and golang.org/x/sys", dep)
		}
	}
}
