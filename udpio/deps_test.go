package udpio

import (
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/depcheck"
)

// TestDependencies keeps udpio small enough for the server, the load
// generator and a client to share: the standard library and
// golang.org/x/sys only.
func TestDependencies(t *testing.T) {
	for _, dep := range depcheck.NonStandard(t) {
		if !strings.HasPrefix(dep, "golang.org/x/sys/") {
			t.Errorf("udpio depends on %s, outside the standard library and golang.org/x/sys", dep)
		}
	}
}
