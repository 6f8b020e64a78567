//go:build !linux

package pty

import "errors"

// Open is Linux-only: it needs /dev/ptmx.
func Open() (*Pair, error) {
	return nil, errors.New("pty: pseudo-terminals are supported on Linux only")
}

// Close closes both ends.
func (p *Pair) Close() error { return nil }
