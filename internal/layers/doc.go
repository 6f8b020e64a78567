// Package layers holds the test that enforces the layer rules of
// docs/ARCHITECTURE.md: which package may import which, and where
// goroutines, I/O and logging may live. The rules are read from the
// document itself, so the map and the check cannot drift apart.
package layers
