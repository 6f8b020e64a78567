package ntp

import (
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/depcheck"
)

// TestDependencies keeps the codec pure: ntp imports the standard library
// only, so the server, the load generator and a client can all share it.
func TestDependencies(t *testing.T) {
	for _, dep := range depcheck.NonStandard(t) {
		t.Errorf("ntp depends on %s, outside the standard library", dep)
	}
}
