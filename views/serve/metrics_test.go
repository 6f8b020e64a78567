package serve

import (
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/status"
)

// metric is one scraped sample: its value and type (GAUGE, COUNTER).
type metric struct {
	value float64
	typ   string
}

// TestTemperatureMetrics: the temperature section's reading, read errors
// and model are exported; the reading only while it is valid, and none of
// them without a sensor.
func TestTemperatureMetrics(t *testing.T) {
	temp := &discipline.Temperature{File: "/t", Celsius: 45.123, Valid: true, ReadErrors: 4,
		Fit: discipline.TempFit{SlopePPBPerC: -7.5, Samples: 80, Trusted: true}}
	snap := func() *status.Snapshot {
		return &status.Snapshot{Sync: &discipline.SyncState{Stratum: 16}, Temperature: temp}
	}
	gather := func() map[string]metric {
		t.Helper()
		fams, err := New(snap, Config{}, nil).Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]metric{}
		for _, f := range fams {
			m := f.GetMetric()[0]
			v := m.GetGauge().GetValue()
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			}
			out[f.GetName()] = metric{v, f.GetType().String()}
		}
		return out
	}
	got := gather()
	for name, want := range map[string]metric{
		"gnomon_temperature_celsius":                     {45.123, "GAUGE"},
		"gnomon_temperature_coefficient_ppb_per_celsius": {-7.5, "GAUGE"},
		"gnomon_temperature_model_trusted":               {1, "GAUGE"},
		"gnomon_temperature_read_errors_total":           {4, "COUNTER"},
	} {
		if m, ok := got[name]; !ok || m != want {
			t.Errorf("%s = %+v (present %v), want %+v", name, m, ok, want)
		}
	}
	temp.Valid = false
	got = gather()
	if _, ok := got["gnomon_temperature_celsius"]; ok {
		t.Error("a reading exported while the sensor does not read")
	}
	if _, ok := got["gnomon_temperature_read_errors_total"]; !ok {
		t.Error("read errors not exported while the sensor does not read")
	}
	temp = nil
	for name := range gather() {
		if strings.HasPrefix(name, "gnomon_temperature_") {
			t.Errorf("%s without a sensor", name)
		}
	}
}
