//go:build !linux

package privdrop

import "errors"

// Drop is implemented on Linux only.
func Drop(uid, gid int, keep []int) error {
	return errors.New("privdrop: capabilities are Linux-only")
}

// Effective is implemented on Linux only.
func Effective() (uint64, error) {
	return 0, errors.New("privdrop: capabilities are Linux-only")
}
