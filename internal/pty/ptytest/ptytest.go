// Package ptytest is the test helper for package pty, apart from it so the
// production binary, which imports pty for the simulated hat, does not link
// package testing.
package ptytest

import (
	"testing"

	"github.com/gnomon-ntp/gnomon/internal/pty"
)

// Open opens a pseudo-terminal pair for a test and closes it when the test
// ends.
func Open(t testing.TB) *pty.Pair {
	t.Helper()
	p, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
