package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/server"
)

// fileOnly are the keys no package's Config holds; Validate checks them.
var fileOnly = []string{"discipline.drift_file", "discipline.leap_seconds_file", "discipline.temperature_file", "ntp.servers", "ntp.pools"}

// TestKeysTable: every key of the package sections is in keys (or checked
// by the file layer), and every row names a real key and a real field of
// its package's Config, so a package's FieldError always finds its line.
func TestKeysTable(t *testing.T) {
	configs := map[string]reflect.Type{
		"board":      reflect.TypeFor[board.Config](),
		"refclock":   reflect.TypeFor[refclock.Config](),
		"discipline": reflect.TypeFor[discipline.Config](),
		"server":     reflect.TypeFor[server.Config](),
		"selection":  reflect.TypeFor[selection.Config](),
	}
	var fileKeys []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		section := sec.Tag.Get("toml")
		if section == "" {
			continue
		}
		for j := range sec.Type.NumField() {
			name := section + "." + sec.Type.Field(j).Tag.Get("toml")
			fileKeys = append(fileKeys, name)
			_, inTable := keyNamed(name)
			if _, pkg := configs[section]; pkg && !inTable && !slices.Contains(fileOnly, name) {
				t.Errorf("key %s is in no row of keys", name)
			}
		}
	}
	for _, k := range keys {
		if !slices.Contains(fileKeys, k.name) {
			t.Errorf("row %+v: no such key in the file", k)
		}
		typ, ok := configs[k.pkg]
		if !ok {
			t.Errorf("row %+v: unknown package", k)
			continue
		}
		if !hasField(typ, k.field) {
			t.Errorf("row %+v: %s.Config has no field %s", k, k.pkg, k.field)
		}
	}
}

// hasField reports whether typ has the dotted field path.
func hasField(typ reflect.Type, path string) bool {
	for _, name := range strings.Split(path, ".") {
		f, ok := typ.FieldByName(name)
		if !ok {
			return false
		}
		typ = f.Type
	}
	return true
}
