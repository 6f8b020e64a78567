package discipline

import (
	"errors"
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

// TestConfigValidateFields: Validate reports every wrong field, each as a
// *FieldError naming the Go field.
func TestConfigValidateFields(t *testing.T) {
	c := DefaultConfig()
	c.StepThreshold, c.OutlierGate = 0, 1
	var fields []string
	for _, err := range fielderr.All(c.Validate()) {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v (%T) is not a *FieldError", err, err)
		}
		fields = append(fields, fe.Field)
	}
	if strings.Join(fields, " ") != "StepThreshold OutlierGate" {
		t.Errorf("fields %v, want StepThreshold and OutlierGate", fields)
	}
}
