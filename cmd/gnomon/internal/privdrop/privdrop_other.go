//go:build !linux

package privdrop

import "errors"

// Drop is implemented on Linux only.
func Drop(uid, gid int, keep []int) error {
	return errors.New("privdrop: capabilities are Linux-only")
}
