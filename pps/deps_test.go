package pps

import (
	"slices"
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/depcheck"
)

// TestDependencies keeps hardware libraries out of pps: it may use periph's
// conn interfaces and x/sys, but host drivers and serial ports belong in
// board (docs/ARCHITECTURE.md, "Hardware libraries are imported only where the
// hardware is").
func TestDependencies(t *testing.T) {
	deps := depcheck.NonStandard(t)
	for _, dep := range deps {
		for _, banned := range []string{"periph.io/x/host", "github.com/tarm/serial"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("pps depends on %s", dep)
			}
		}
	}
	if !slices.Contains(deps, "periph.io/x/conn/v3/gpio") {
		t.Errorf("go list output looks wrong (no periph conn gpio): %v", deps)
	}
}
