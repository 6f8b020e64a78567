// Command gnomon is a GPS-disciplined stratum 1 NTP server for a Raspberry
// Pi with a GPS hat.
//
// Usage:
//
//	gnomon run --config /etc/gnomon.toml   # the appliance on real hardware
//	gnomon run --sim [--ntp-listen 127.0.0.1:11123]  # on a simulated GPS hat
//	gnomon sim [--all]                      # discipline accuracy scenarios
//	gnomon version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
	"github.com/gnomon-ntp/gnomon/internal/discsim"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); without
// it the module version from the build info is used.
var version = ""

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		defer exitIfStuck(ctx, stderr)()
		err := runCmd(ctx, args[1:], stderr)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case err != nil:
			fmt.Fprintln(stderr, "gnomon:", err)
			return 1
		}
		return 0
	case "sim":
		if err := discsim.Main(args[1:], stdout); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "gnomon sim:", err)
			return 1
		}
		return 0
	case "setup":
		return setupCmd(args[1:], stdout, stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "status":
		return statusCmd(args[1:], stdout, stderr)
	case "gpsmon":
		return gpsmonCmd(args[1:], stdout, stderr)
	case "ppsmon":
		return ppsmonCmd(args[1:], stdout, stderr)
	case "poolcheck":
		return poolcheckCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "gnomon", versionString())
		return 0
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "gnomon: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  gnomon run --config FILE        serve NTP from the GPS hat described in FILE
  gnomon run --sim                serve NTP from a simulated GPS hat (never touches the host clock)
  gnomon sim [flags]              run the discipline accuracy scenarios
  gnomon setup --hat NAME [--apply]  prepare this Pi for a GPS hat (config.txt, cmdline.txt, gnomon.toml)
  gnomon config check FILE | default  check a configuration file, or print every key with its default
  gnomon status [--json]          the running daemon's sources, tracking, receiver and counters
  gnomon gpsmon --device PATH     decode a GPS receiver's NMEA (bring-up)
  gnomon ppsmon --device PATH     watch a kernel PPS device's pulses (bring-up)
  gnomon poolcheck [HOST]         score a server as the NTP pool's monitor does
  gnomon version                  print the version
Run "gnomon run -h" for the run flags.
`)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// errUsage marks a command line error already reported with the flag usage.
var errUsage = errors.New("usage")

// listFlag collects a flag given several times or as a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// runFlags are the flags of "gnomon run".
type runFlags struct {
	sim    bool
	config string
	// simGPSError puts the simulated receiver's time off true time from
	// the start (--sim-gps-error).
	simGPSError time.Duration
	// simGPSErrorAfter delays that error: the receiver starts lying after
	// this long (--sim-gps-error-after).
	simGPSErrorAfter time.Duration
	// simOutageAfter and simOutageFor lose the simulated antenna
	// (--sim-gps-outage-after, --sim-gps-outage-for).
	simOutageAfter, simOutageFor time.Duration
	// simNoNMEA wires a bare PPS line: pulses numbered from NTP time
	// (--sim-no-nmea).
	simNoNMEA bool
	simHost   bool // --sim-serve-host-clock (simhost.go)
	// over are the flags that override the config file (or, with --sim,
	// the simulation's defaults).
	over  config.Overrides
	views viewFlags
}

func parseRunFlags(args []string, stderr io.Writer) (*runFlags, error) {
	f := &runFlags{}
	fs := flag.NewFlagSet("gnomon run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.sim, "sim", false, "run on a simulated GPS hat and a simulated clock (the host clock is never changed)")
	fs.DurationVar(&f.simGPSError, "sim-gps-error", 0, "with --sim: the simulated receiver's time is off by this `duration` from the start (a spoof or a wrong date, e.g. 105192h for 2038)")
	fs.DurationVar(&f.simGPSErrorAfter, "sim-gps-error-after", 0, "with --sim-gps-error: the simulated receiver keeps true time for this `duration`, then starts lying")
	fs.DurationVar(&f.simOutageAfter, "sim-gps-outage-after", 0, "with --sim: the simulated antenna is lost after this `duration` (no pulses, no sentences)")
	fs.DurationVar(&f.simOutageFor, "sim-gps-outage-for", 0, "with --sim-gps-outage-after: the antenna comes back after this `duration` (0: never)")
	fs.BoolVar(&f.simNoNMEA, "sim-no-nmea", false, "with --sim: the simulated hat gives pulses only, no NMEA; each pulse is numbered from the selected upstream's time (needs --upstream)")
	fs.BoolVar(&f.simHost, "sim-serve-host-clock", false, simHostUsage)
	fs.StringVar(&f.config, "config", "", "TOML configuration `file` for real hardware")
	fs.Var((*listFlag)(&f.over.Upstreams), "upstream", "upstream NTP server `HOST:PORT [iburst] [prefer] [minpoll N] [maxpoll N]` beside the GPS (repeatable; added to the config's ntp.servers)")
	fs.DurationVar(&f.over.RefclockHoldover, "refclock-holdover", 0, "how long to hold over on a lost GPS before the upstreams take over (overrides ntp.refclock_holdover; default 1h)")
	fs.Var((*listFlag)(&f.over.Listen), "ntp-listen", "UDP `address` to serve NTP on (repeatable or comma-separated; overrides the config's server.listen)")
	fs.Func("drift-file", "drift `file` (overrides discipline.drift_file; empty disables it)", func(s string) error {
		f.over.DriftFile = &s
		return nil
	})
	fs.StringVar(&f.over.LogLevel, "log-level", "", "debug, info, warn or error (overrides system.log_level)")
	fs.BoolVar(&f.over.NoRateLimit, "no-rate-limit", false, "answer every request: turn per-client rate limiting off (benchmarks; overrides server.rate_interval)")
	addViewFlags(fs, &f.views)
	fs.StringVar(&f.over.User, "user", "", "`user` to switch to after opening devices and sockets (overrides system.user)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gnomon run: unexpected argument %q\n", fs.Arg(0))
		return nil, errUsage
	}
	if !f.sim && (f.simGPSError != 0 || f.simGPSErrorAfter != 0 || f.simNoNMEA || f.simOutageAfter != 0 || f.simOutageFor != 0) {
		fmt.Fprintln(stderr, "gnomon run: the --sim-gps-* flags need --sim")
		return nil, errUsage
	}
	if f.sim == (f.config != "") {
		fmt.Fprintln(stderr, "gnomon run: give exactly one of --sim and --config FILE")
		return nil, errUsage
	}
	for _, a := range f.over.Listen {
		if err := config.CheckListen(a); err != nil {
			fmt.Fprintf(stderr, "gnomon run: --ntp-listen: %v\n", err)
			return nil, errUsage
		}
	}
	if f.over.LogLevel != "" {
		if _, err := config.ParseLogLevel(f.over.LogLevel); err != nil {
			fmt.Fprintf(stderr, "gnomon run: --log-level: %v\n", err)
			return nil, errUsage
		}
	}
	return f, nil
}

// newLogger logs text lines to w at level.
func newLogger(w io.Writer, level string) *slog.Logger {
	l, _ := config.ParseLogLevel(level) // validated already
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runCmd(ctx context.Context, args []string, stderr io.Writer) error {
	f, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.sim {
		return runSim(ctx, f, stderr)
	}
	return runHardware(ctx, f, stderr)
}
