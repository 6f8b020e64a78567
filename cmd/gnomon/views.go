package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gnomon-ntp/gnomon/status"
	"github.com/gnomon-ntp/gnomon/views/serve"
)

// viewFlags are the run flags of the operator's views.
type viewFlags struct {
	// controlSocket is --control-socket: nil, the default path; "" off.
	controlSocket *string
	// httpListen is --http-listen: the metrics and web page's address
	// ("" off).
	httpListen string
}

// addViewFlags adds --control-socket and --http-listen to fs.
func addViewFlags(fs *flag.FlagSet, v *viewFlags) {
	fs.Func("control-socket", "unix `path` of the read-only status socket gnomon status reads (default "+hardwareSocket+", with --sim "+simSocket()+"; empty: none)", func(s string) error {
		v.controlSocket = &s
		return nil
	})
	fs.StringVar(&v.httpListen, "http-listen", "", "TCP `address` serving the metrics at /metrics and the status page at / (default: off)")
}

// hardwareSocket is the control socket on a Pi (systemd's RuntimeDirectory
// or /run, group gnomon).
const hardwareSocket = "/run/gnomon/gnomon.sock"

// simSocket is the control socket of gnomon run --sim: in the user's
// runtime directory, else in /tmp/gnomon-UID.
func simSocket() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "gnomon", "gnomon.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("gnomon-%d", os.Getuid()), "gnomon.sock")
}

// openedViews are the views' listeners and goroutines.
type openedViews struct {
	tasks map[string]func(ctx context.Context) error
	close func()
}

// openViews binds the control socket and the HTTP listener (before the
// privilege drop) and returns the views' goroutines. A default control
// socket already served by another gnomon is skipped with a warning; a
// path given on the command line must be free.
func (a *appliance) openViews(snapshot func() *status.Snapshot) (*openedViews, error) {
	cfg := serve.Config{HasPPS: a.hasPPS, NoNMEA: a.ppsFromNTP, StatusEvery: a.statusEvery, StatusLevel: a.statusLevel, StatusExtra: a.statusExtra, ProbeBaud: a.probeBaud}
	v := serve.New(snapshot, cfg, a.log.With("part", "health"))
	ov := &openedViews{tasks: map[string]func(context.Context) error{
		"views": func(ctx context.Context) error { return v.Run(ctx, cfg) },
	}, close: func() {}}
	path := hardwareSocket
	if a.sim {
		path = simSocket()
	}
	explicit := a.views.controlSocket != nil
	if explicit {
		path = *a.views.controlSocket
	}
	var closers []func()
	if path != "" {
		l, err := serve.ListenControl(path, a.socketGID)
		switch {
		case err == nil:
			a.log.Info("control socket", "path", path)
			ov.tasks["control"] = func(ctx context.Context) error { return v.ServeControl(ctx, l) }
			closers = append(closers, func() { l.Close() })
		case !explicit && errors.Is(err, serve.ErrSocketInUse):
			a.log.Warn("no control socket: another gnomon serves the default one; give --control-socket PATH", "path", path)
		default:
			return nil, err
		}
	}
	if a.views.httpListen != "" {
		l, err := serve.ListenHTTP(a.views.httpListen)
		if err != nil {
			for _, c := range closers {
				c()
			}
			return nil, fmt.Errorf("http: %w", err)
		}
		a.log.Info("serving metrics and status page", "addr", l.Addr().String())
		ov.tasks["http"] = func(ctx context.Context) error { return v.ServeHTTP(ctx, l) }
		closers = append(closers, func() { l.Close() })
	}
	ov.close = func() {
		for _, c := range closers {
			c()
		}
	}
	return ov, nil
}
