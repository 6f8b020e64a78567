package main

import (
	"runtime/debug"
	"time"
)

// buildDate is set at link time (-ldflags "-X main.buildDate=2026-12-01");
// without it the commit time recorded by the Go toolchain (vcs.time) is used.
var buildDate = ""

// sourceFloor is the date of this source tree: no build of it can run
// before then, whatever the toolchain recorded. Raise it at each release.
var sourceFloor = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// builtAt returns the latest of the link-time date, the commit time in the
// build info and sourceFloor: the lower bound on any plausible time.
func builtAt() time.Time {
	t := sourceFloor
	later := func(s, layout string) {
		if v, err := time.Parse(layout, s); err == nil && v.After(t) {
			t = v
		}
	}
	later(buildDate, time.DateOnly)
	later(buildDate, time.RFC3339)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				later(s.Value, time.RFC3339)
			}
		}
	}
	return t
}
