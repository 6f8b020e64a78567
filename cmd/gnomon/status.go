package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gnomon-ntp/gnomon/views"
	"github.com/gnomon-ntp/gnomon/views/serve"
)

// statusCmd is "gnomon status [--control-socket PATH] [--json]": the
// running daemon's sources, tracking, receiver and counters, read over its
// control socket.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gnomon status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("control-socket", "", "the daemon's control socket `path` (default: "+hardwareSocket+" if it exists, else "+simSocket()+")")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gnomon status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	p := *path
	if p == "" {
		p = simSocket()
		if _, err := os.Stat(hardwareSocket); err == nil {
			p = hardwareSocket
		}
	}
	raw, err := serve.ReadControl(p, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "gnomon status: %v (is gnomon running? give --control-socket PATH)\n", err)
		return 1
	}
	if *asJSON {
		var b bytes.Buffer
		json.Indent(&b, raw, "", "  ")
		b.WriteByte('\n')
		stdout.Write(b.Bytes())
		return 0
	}
	var r views.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		fmt.Fprintf(stderr, "gnomon status: %s: %v\n", p, err)
		return 1
	}
	if err := views.WriteText(stdout, r); err != nil {
		fmt.Fprintln(stderr, "gnomon status:", err)
		return 1
	}
	return 0
}
