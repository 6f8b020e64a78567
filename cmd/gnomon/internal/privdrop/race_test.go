//go:build race

package privdrop

// raceEnabled: the race detector links cgo, so Drop must refuse (ErrCgo).
const raceEnabled = true
