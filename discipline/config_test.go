package discipline

import (
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

// TestConfigValidateFields: Validate reports every wrong field, each as a
// *FieldError naming the Go field.
func TestConfigValidateFields(t *testing.T) {
	c := DefaultConfig()
	c.StepThreshold, c.OutlierGate = 0, 1
	fields, other := fielderr.Fields(c.Validate())
	if strings.Join(fields, " ") != "StepThreshold OutlierGate" || other != nil {
		t.Errorf("fields %v (and %v), want StepThreshold and OutlierGate", fields, other)
	}
}
