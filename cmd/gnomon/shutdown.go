package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// stopDeadline is how long "gnomon run" may take to stop once signalled
// before it exits anyway: a part stuck in a system call (a file that
// blocks, a device that hangs) must not keep a daemon alive past SIGTERM.
const stopDeadline = 5 * time.Second

// exitIfStuck watches ctx: once it is done, the process exits with status 1
// after stopDeadline unless the returned function has been called first
// (the normal return of the command).
func exitIfStuck(ctx context.Context, stderr io.Writer) (returned func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(stopDeadline)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			fmt.Fprintf(stderr, "gnomon: did not stop within %v of the signal, exiting\n", stopDeadline)
			os.Exit(1)
		}
	}()
	return func() { close(done) }
}
