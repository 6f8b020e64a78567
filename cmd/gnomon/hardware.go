package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"strconv"

	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/privdrop"
)

func runHardware(ctx context.Context, f *runFlags, stderr io.Writer) error {
	return errors.New("not yet")
}

// lookupIDs resolves userName (and groupName, or else the user's primary
// group) to numeric ids.
func lookupIDs(userName, groupName string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			return 0, 0, fmt.Errorf("privilege drop: %w", err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: user %s: uid %q: %w", userName, u.Uid, err)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: user %s: gid %q: %w", userName, u.Gid, err)
		}
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return 0, 0, fmt.Errorf("privilege drop: %w", err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return 0, 0, fmt.Errorf("privilege drop: group %s: gid %q: %w", groupName, g.Gid, err)
		}
	}
	return uid, gid, nil
}

// dropTo switches to uid and gid (-1: keep) keeping only CAP_SYS_TIME and
// CAP_NET_BIND_SERVICE, on every thread.
func dropTo(log *slog.Logger, userName string, uid, gid int) error {
	if err := privdrop.Drop(uid, gid, privdrop.Keep); err != nil {
		return err
	}
	log.Info("privileges dropped", "user", userName, "uid", uid, "gid", gid, "kept", "CAP_SYS_TIME,CAP_NET_BIND_SERVICE")
	return nil
}
