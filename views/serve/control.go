package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ErrSocketInUse is returned by ListenControl when another process answers
// on the socket's path.
var ErrSocketInUse = errors.New("control socket in use by a running gnomon")

// ListenControl opens the control socket at path, mode 0660 and group gid
// (-1: the process's), creating its directory (0755) if missing. A stale
// socket left by a process that died is replaced; a live one is not.
func ListenControl(path string, gid int) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", path, ErrSocketInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	return l, nil
}

// ServeControl answers every connection on l with the current Report as
// one JSON object and closes it; what the client sends is never read, so
// the socket can only be read from. It returns when ctx is done, closing l
// (which removes the socket).
func (v *Views) ServeControl(ctx context.Context, l *net.UnixListener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		err = json.NewEncoder(c).Encode(v.Report())
		c.Close()
		if err != nil {
			v.log.Debug("control socket", "err", err)
		}
	}
}

// ReadControl fetches the Report's JSON from the control socket at path.
func ReadControl(path string, timeout time.Duration) ([]byte, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var raw json.RawMessage
	if err := json.NewDecoder(c).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raw, nil
}
