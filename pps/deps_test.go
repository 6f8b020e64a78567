package pps

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps hardware libraries out of pps: it may use periph's
// conn interfaces and x/sys, but host drivers and serial ports belong in
// board (docs/ARCHITECTURE.md, "Hardware libraries are imported only where the
// hardware is").
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"periph.io/x/host", "github.com/tarm/serial"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("pps depends on %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "periph.io/x/conn/v3/gpio\n") {
		t.Errorf("go list output looks wrong (no periph conn gpio):\n%s", out)
	}
}
