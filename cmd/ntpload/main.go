// Command ntpload offers NTP client load to a server on loopback and reports
// answers per second, loss and latency (BENCHMARKS.md section 2).
//
// It refuses any target outside 127.0.0.0/8 and ::1, and every run is bounded
// in time and request count.
//
//	ntpload -target 127.0.0.1:11123 -rates 50000:400000:50000 -duration 5s -ceiling -pid 1234
//	ntpload -summarize results.jsonl
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/loadgen"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		log.Error("ntpload failed", "err", err)
		os.Exit(1)
	}
}

// Line is one step's output in -json mode.
type Line struct {
	Name string `json:"name,omitempty"`
	loadgen.Result
	// ServerCPU is the server's CPU use during the step (1 = one core), if -pid was given.
	ServerCPU float64 `json:"server_cpu,omitempty"`
	// ServerRSSKiB is the server's VmRSS at the end of the step, if -pid was given.
	ServerRSSKiB uint64 `json:"server_rss_kib,omitempty"`
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ntpload", flag.ContinueOnError)
	target := fs.String("target", "127.0.0.1:123", "server `addr:port` (127.0.0.0/8 or [::1] only)")
	sockets := fs.Int("sockets", 16, "client sockets, each with its own source port")
	source := fs.String("source", "", "local `address` to send from (loopback; default 127.0.0.1 or ::1)")
	srcPort := fs.Int("source-port", 0, "bind socket i to `port`+i (0: ephemeral ports)")
	batch := fs.Int("batch", 64, "messages per sendmmsg/recvmmsg")
	rate := fs.Float64("rate", 0, "one open-loop step at this offered rate (requests/s)")
	rates := fs.String("rates", "", "open-loop steps `from:to:step` (requests/s)")
	dur := fs.Duration("duration", 5*time.Second, "length of each step")
	drain := fs.Duration("drain", 300*time.Millisecond, "how long to wait for late replies after a step")
	ceiling := fs.Bool("ceiling", false, "after the steps, a closed-loop step measuring the most answers/s")
	window := fs.Int("window", 8, "closed loop: requests outstanding per socket")
	timeout := fs.Duration("timeout", 20*time.Millisecond, "closed loop: write outstanding requests off after this silence")
	maxCount := fs.Int("max-count", 8<<20, "most requests in one step")
	pid := fs.Int("pid", 0, "server `PID`: report its CPU use and VmRSS per step")
	name := fs.String("name", "", "label for the output lines")
	asJSON := fs.Bool("json", false, "one JSON object per step")
	waitSync := fs.Duration("wait-sync", 0, "first wait up to this long for the server to answer synchronised (stratum 1..15)")
	total := fs.Duration("total", 10*time.Minute, "bound on the whole run")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's CPU profile to `file`")
	summary := fs.String("summarize", "", "print the comparison table of the -json lines in `file` and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *summary != "" {
		return summarize(*summary, stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ap, err := loadgen.ParseTarget(*target)
	if err != nil {
		return err
	}
	cfg := loadgen.DefaultConfig(ap)
	cfg.Sockets, cfg.SourcePort, cfg.Batch = *sockets, *srcPort, *batch
	if *source != "" {
		if cfg.Source, err = netip.ParseAddr(*source); err != nil {
			return fmt.Errorf("-source: %w", err)
		}
	}
	cfg.Duration, cfg.Drain, cfg.Window, cfg.Timeout, cfg.MaxCount = *dur, *drain, *window, *timeout, *maxCount

	var steps []int
	switch {
	case *rates != "" && *rate != 0:
		return errors.New("give -rate or -rates, not both")
	case *rates != "":
		steps, err = parseSteps(*rates)
		if err != nil {
			return err
		}
	case *rate != 0:
		steps = []int{int(*rate)}
	case !*ceiling && *waitSync == 0:
		return errors.New("nothing to do: give -rate, -rates, -ceiling or -wait-sync")
	}
	if len(steps) > 0 {
		cfg.Rate = float64(steps[0])
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *total)
	defer cancelT()

	if *waitSync > 0 {
		r, err := loadgen.WaitSync(ctx, ap, 15, *waitSync)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "# %s synchronised: stratum %d leap %d refid %s\n", ap, r.Stratum, r.Leap, loadgen.RefIDString(r.Stratum, r.RefID))
		}
	}
	out := printer{w: stdout, json: *asJSON, name: *name}
	if len(steps) > 0 || *ceiling {
		out.header()
	}
	for _, r := range steps {
		if ctx.Err() != nil {
			break
		}
		c := cfg
		c.Rate = float64(r)
		if err := measure(ctx, c, *pid, loadgen.Run, &out); err != nil {
			return err
		}
	}
	if *ceiling && ctx.Err() == nil {
		if err := measure(ctx, cfg, *pid, loadgen.Ceiling, &out); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

func measure(ctx context.Context, c loadgen.Config, pid int, f func(context.Context, loadgen.Config) (loadgen.Result, error), out *printer) error {
	var before loadgen.ProcSample
	var err error
	if pid > 0 {
		if before, err = loadgen.ReadProc(pid); err != nil {
			return err
		}
	}
	r, err := f(ctx, c)
	if err != nil {
		return err
	}
	l := Line{Result: r}
	if pid > 0 {
		after, err := loadgen.ReadProc(pid)
		if err != nil {
			return fmt.Errorf("server gone after the step: %w", err)
		}
		l.ServerCPU = loadgen.CPUShare(before, after)
		l.ServerRSSKiB = after.RSSKiB
	}
	return out.line(l)
}

// parseSteps parses "from:to:step".
func parseSteps(s string) ([]int, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return nil, fmt.Errorf("-rates %q: want from:to:step", s)
	}
	var v [3]int
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil {
			return nil, fmt.Errorf("-rates %q: %w", s, err)
		}
		v[i] = n
	}
	return loadgen.Steps(v[0], v[1], v[2], 100)
}

type printer struct {
	w    io.Writer
	json bool
	name string
}

func (p *printer) header() {
	if p.json {
		return
	}
	fmt.Fprintf(p.w, "%-8s %-6s %9s %9s %9s %8s %7s %9s %9s %9s %7s %9s\n",
		"server", "mode", "offered/s", "sent/s", "answer/s", "kod", "loss%", "p50", "p99", "max", "cpu%", "rss")
}

func (p *printer) line(l Line) error {
	l.Name = p.name
	if p.json {
		b, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		if err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	cpu, rss := "-", "-"
	if l.ServerRSSKiB > 0 {
		cpu = fmt.Sprintf("%.1f", 100*l.ServerCPU)
		rss = fmt.Sprintf("%.1fMiB", float64(l.ServerRSSKiB)/1024)
	}
	_, err := fmt.Fprintf(p.w, "%-8s %-6s %9.0f %9.0f %9.0f %8d %7.3f %9s %9s %9s %7s %9s\n",
		p.name, l.Mode, l.Offered, l.SentPerS, l.AnsPerS, l.KoD, 100*l.Loss,
		dur(l.P50), dur(l.P99), dur(l.Max), cpu, rss)
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func dur(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/1e6)
}
