// Package fielderr is the error the Config.Validate methods of board,
// refclock, discipline and server return for a setting that is wrong (each
// package calls it FieldError): it names the Go field and says what is wrong
// with its value, so that a configuration file can name its own key and
// line for it instead of parsing messages.
package fielderr

import (
	"errors"
	"fmt"
)

// Error is a wrong value of one field of a package's Config.
type Error struct {
	// Pkg is the package whose Config holds the field, e.g. "board"; it
	// prefixes the message.
	Pkg string
	// Field is the field's path in that Config as Go spells it, e.g. "Baud"
	// or "Locker.NMEADelay"; "" for the Config as a whole.
	Field string
	// Err says what is wrong with the value, without naming the field.
	Err error
}

// Error formats as "pkg: Field: what is wrong".
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Pkg + ": " + e.Err.Error()
	}
	return e.Pkg + ": " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns what is wrong.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error about field of pkg's Config; format and args say
// what is wrong (%w wraps as in fmt.Errorf).
func New(pkg, field, format string, args ...any) error {
	return &Error{Pkg: pkg, Field: field, Err: fmt.Errorf(format, args...)}
}

// Nest returns err with parent prepended to the Field of every *Error in
// it (a nested Config: "Locker" and "NMEADelay" make "Locker.NMEADelay");
// other errors pass unchanged. Nest(parent, nil) is nil.
func Nest(parent string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range All(err) {
		if fe, ok := e.(*Error); ok {
			field := parent
			if fe.Field != "" {
				field += "." + fe.Field
			}
			e = &Error{Pkg: fe.Pkg, Field: field, Err: fe.Err}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// All returns the errors joined in err (by errors.Join, at any depth), or
// err alone; nil for nil.
func All(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, All(e)...)
	}
	return out
}

// Fields returns the Field of every *Error in err, in order, and the
// first error in it that is no *Error (nil if none).
func Fields(err error) ([]string, error) {
	var fields []string
	var other error
	for _, e := range All(err) {
		var fe *Error
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		} else if other == nil {
			other = e
		}
	}
	return fields, other
}
