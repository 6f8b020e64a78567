package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gnomon-ntp/gnomon/views"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var httpRE = regexp.MustCompile(`msg="serving metrics and status page" addr=(\S+)`)

// startViewsSim starts gnomon run --sim with a control socket in a
// temporary directory and the HTTP views on a free loopback port, and waits
// until gnomon status reports it synchronised with its counters moving.
func startViewsSim(t *testing.T) (p *proc, socket, httpAddr string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "gnomon.sock")
	p = startSim(t, "--control-socket", socket, "--http-listen", "127.0.0.1:0")
	if m := httpRE.FindStringSubmatch(p.Log()); m != nil {
		httpAddr = m[1]
	} else {
		t.Fatalf("no HTTP address logged\n%s", p.Log())
	}
	deadline := time.Now().Add(lockDeadline)
	for {
		var r views.Report
		out, err := exec.Command(gnomonBin(t), "status", "--json", "--control-socket", socket).Output()
		if err == nil {
			err = json.Unmarshal(out, &r)
		}
		if err == nil && r.Tracking.Synced && r.Counters.Pulses >= 12 && len(r.Sources) == 1 && r.Sources[0].Samples >= 8 {
			return p, socket, httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("not synchronised within %v: %v %s\n%s", lockDeadline, err, out, p.Log())
		}
		time.Sleep(time.Second)
	}
}

// normaliseRE matches the numbers that change from run to run.
var (
	numberRE = regexp.MustCompile(`[-+]?\d+(\.\d+)?(e[-+]?\d+)?`)
	spacesRE = regexp.MustCompile(` +`)
	sideRE   = regexp.MustCompile(`(slow|fast) of NTP time`)
	dateRE   = regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`)
)

// normalise replaces the numbers (and day and month names) with N and
// collapses runs of spaces, so the golden file holds the shape: labels,
// columns, words, units, refids and tallies.
func normalise(s string) string {
	s = dateRE.ReplaceAllString(s, "DAY MON")
	s = sideRE.ReplaceAllString(s, "SIDE of NTP time")
	s = numberRE.ReplaceAllString(s, "N")
	return spacesRE.ReplaceAllString(s, " ")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}

// TestStatusGolden runs gnomon status against gnomon run --sim: the text in
// its ntpq -p and chronyc tracking shapes against a golden file (numbers
// normalised), and the JSON's values.
func TestStatusGolden(t *testing.T) {
	p, socket, _ := startViewsSim(t)
	out, err := exec.Command(gnomonBin(t), "status", "--control-socket", socket).CombinedOutput()
	if err != nil {
		t.Fatalf("gnomon status: %v\n%s", err, out)
	}
	t.Logf("gnomon status:\n%s", out)
	golden(t, "status.golden", normalise(string(out)))

	out, err = exec.Command(gnomonBin(t), "status", "--json", "--control-socket", socket).Output()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status-json.golden", normalise(string(out)))
	var r views.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	tr := r.Tracking
	if tr.Stratum != 1 || tr.Reference != "PPS" || tr.Peer != "GPS" || tr.Leap != "normal" || tr.LastUpdate.IsZero() {
		t.Errorf("tracking %+v: want stratum 1, PPS from GPS, normal leap, an update", tr)
	}
	// The simulated crystal runs 30 ppm fast: the correction slows it.
	if tr.FreqPPM > -25 || tr.FreqPPM < -35 {
		t.Errorf("frequency %.3f ppm, want about -30", tr.FreqPPM)
	}
	if s := r.Sources[0]; s.Tally != "*" || s.Remote != "GPS" || s.RefID != "PPS" || s.Reach == 0 || s.JitterS <= 0 || s.JitterS > 1e-3 {
		t.Errorf("source %+v: want the system peer GPS/PPS, reached, jitter under 1 ms", s)
	}
	rv := r.Receiver
	if rv == nil || rv.Fix != 3 || !rv.Valid || rv.SatsUsed != 9 || rv.SatsInView != 11 || rv.HDOP != 0.94 || len(rv.Sky) != 11 || !rv.Locked {
		t.Errorf("receiver %+v: want the simulated hat's 3D fix, 9 used of 11 in view, HDOP 0.94", rv)
	}
	if c := r.Counters; c.Pulses < 12 || c.PulsesNumbered == 0 || c.TimeMessages == 0 || c.ChecksumErrors != 0 {
		t.Errorf("counters %+v", c)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings on a healthy simulated hat: %v", r.Warnings)
	}
	// The socket is for its owner and group only.
	fi, err := os.Stat(socket)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, %v; want 0660", fi.Mode(), err)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("exit: %v", err)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind after exit: %v", err)
	}
}

// TestStatusNoDaemon: without a daemon, gnomon status says so and fails.
func TestStatusNoDaemon(t *testing.T) {
	out, err := exec.Command(gnomonBin(t), "status", "--control-socket", filepath.Join(t.TempDir(), "none.sock")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is gnomon running?") {
		t.Errorf("gnomon status without a daemon: %v, %s", err, out)
	}
}

// TestMetricsScrape scrapes /metrics of gnomon run --sim and parses it with
// the Prometheus text parser.
func TestMetricsScrape(t *testing.T) {
	_, _, addr := startViewsSim(t)
	body := scrape(t, addr)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Errorf("no %s", name)
			return 0
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
		t.Errorf("no %s%v", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels []string
		ok     func(float64) bool
	}{
		{"gnomon_stratum", nil, func(v float64) bool { return v == 1 }},
		{"gnomon_synchronized", nil, func(v float64) bool { return v == 1 }},
		{"gnomon_leap_indicator", nil, func(v float64) bool { return v == 0 }},
		{"gnomon_clock_offset_seconds", nil, func(v float64) bool { return v > -1e-3 && v < 1e-3 }},
		{"gnomon_clock_frequency_ppm", nil, func(v float64) bool { return v < -25 && v > -35 }},
		{"gnomon_root_dispersion_seconds", nil, func(v float64) bool { return v > 0 && v < 0.01 }},
		{"gnomon_clock_estimated_error_seconds", nil, func(v float64) bool { return v > 0 && v < 1e-3 }},
		{"gnomon_source_reach", []string{"source", "GPS"}, func(v float64) bool { return v > 0 }},
		{"gnomon_source_selected", []string{"source", "GPS", "state", "system peer"}, func(v float64) bool { return v == 1 }},
		{"gnomon_source_selected", []string{"source", "GPS", "state", "candidate"}, func(v float64) bool { return v == 0 }},
		{"gnomon_gps_fix", nil, func(v float64) bool { return v == 3 }},
		{"gnomon_gps_satellites_used", nil, func(v float64) bool { return v == 9 }},
		{"gnomon_gps_satellites_in_view", nil, func(v float64) bool { return v == 11 }},
		{"gnomon_pps_pulses_total", []string{"result", "numbered"}, func(v float64) bool { return v >= 8 }},
		{"gnomon_ntp_requests_served_total", []string{"kind", "time"}, func(v float64) bool { return v >= 0 }},
		{"gnomon_fault", []string{"fault", "no_pps"}, func(v float64) bool { return v == 0 }},
		{"process_resident_memory_bytes", nil, func(v float64) bool { return v > 0 }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
	}
	for _, c := range checks {
		if v := value(c.name, c.labels...); !c.ok(v) {
			t.Errorf("%s%v = %v", c.name, c.labels, v)
		}
	}
	for name, f := range fams {
		if strings.HasPrefix(name, "gnomon_") && f.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
	}
}
