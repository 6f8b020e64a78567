package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

func runHardware(ctx context.Context, f *runFlags, stderr io.Writer) error {
	return errors.New("not yet")
}

func dropTo(log *slog.Logger, user, group string) error {
	return errors.New("not yet")
}
