package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// keyTypes maps every dotted key of the file to its field's Go type, read
// from Config's toml tags.
func keyTypes() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		name := sec.Tag.Get("toml")
		if name == "" || sec.Type.Kind() != reflect.Struct {
			continue
		}
		for j := range sec.Type.NumField() {
			f := sec.Type.Field(j)
			if tag := f.Tag.Get("toml"); tag != "" {
				m[name+"."+tag] = f.Type
			}
		}
	}
	return m
}

// Keys lists the file's dotted keys, sorted.
func Keys() []string {
	var ks []string
	for k := range keyTypes() {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

var durationType = reflect.TypeFor[time.Duration]()

// tomlWant is the TOML type (as toml.MetaData.Type names it) a field of
// type t must be given as, and how to say so.
func tomlWant(t reflect.Type) (typ, desc string) {
	if t == durationType {
		return "String", `a duration with its unit, as a string such as "128ms"`
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "String", "a string in double quotes"
	case reflect.Int:
		return "Integer", "a whole number"
	case reflect.Bool:
		return "Bool", "true or false"
	case reflect.Slice:
		return "Array", `a list such as ["0.0.0.0:123"]`
	}
	return "", ""
}

// tomlNames says a TOML type the way the messages do.
var tomlNames = map[string]string{
	"Integer": "a number", "Float": "a number", "String": "a string", "Bool": "a boolean",
	"Array": "a list", "Hash": "a table", "ArrayHash": "a list of tables", "Datetime": "a date-time",
	"DatetimeLocal": "a date-time", "DateLocal": "a date", "TimeLocal": "a time",
}

// checkTypes refuses values of the wrong TOML type with an *Error naming
// the line and the key, before the decoder's own message could: a
// duration given as a bare number (which the decoder would take as
// nanoseconds) above all. A document that does not parse is left to the
// decoder.
func checkTypes(file, doc string, lines map[string]int) []error {
	var raw map[string]any
	md, err := toml.Decode(doc, &raw)
	if err != nil {
		return nil
	}
	types := keyTypes()
	var errs []error
	for _, k := range md.Keys() {
		key := strings.Join(k, ".")
		t, ok := types[key]
		if !ok {
			continue // unknown keys are reported after decoding
		}
		want, desc := tomlWant(t)
		got := md.Type(k...)
		if want == "" || got == want {
			continue
		}
		msg := fmt.Sprintf("is %s, want %s", tomlNames[got], desc)
		if t == durationType && (got == "Integer" || got == "Float") {
			msg = fmt.Sprintf("a number without a unit: write %s (a bare number is not taken as nanoseconds)", desc)
		}
		errs = append(errs, &Error{File: file, Line: lines[key], Field: key, Msg: msg})
	}
	return errs
}
