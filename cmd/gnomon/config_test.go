package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
)

// TestExampleConfig checks that the shipped example is a valid config.
func TestExampleConfig(t *testing.T) {
	c, err := config.Load("gnomon.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.BoardConfig().Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "uputronics-gps-rtc" || h.PPSDevice != "/dev/pps0" || c.System.User != "gnomon" {
		t.Errorf("example resolves to hat %+v, user %q", h, c.System.User)
	}
}

// runGnomon runs the built binary with args and returns its exit code and
// output; it must exit by itself within 20 s.
func runGnomon(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(gnomonBin(t), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("gnomon %v did not exit\n%s", args, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestMalformedConfigRefused: a bad config file stops gnomon at start with
// an error naming the file, line and field.
func TestMalformedConfigRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", "[board]\nhat = \"uputronics\"\n\n[server]\nlisen = [\"0.0.0.0:123\"]\n", ":5: server.lisen: unknown key"},
		{"bad value", "[board]\nhat = \"uputronics\"\nbaud = 9601\n", ":3: board.baud: 9601 is not a supported baud rate"},
		{"unknown hat", "[board]\nhat = \"garmin\"\n", `:2: board.hat: unknown hat "garmin"`},
		{"syntax", "[board]\nhat = uputronics\n", ":2: board.hat: "},
		{"wrong type", "[board]\nhat = \"uputronics\"\n[discipline]\nstep_threshold = true\n", ":4: discipline.step_threshold: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			if err := os.WriteFile(p, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out := runGnomon(t, "run", "--config", p)
			if code != 1 || !strings.Contains(out, p+tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, p+tc.want)
			}
			if strings.Contains(out, "serving NTP") {
				t.Errorf("gnomon served with a malformed config:\n%s", out)
			}
		})
	}
}

// TestMissingDeviceRefused: a device that does not open stops gnomon at
// start (before the clock is touched), naming the field.
func TestMissingDeviceRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g.toml")
	doc := "[board]\nhat = \"uputronics\"\nserial_path = \"/dev/gnomon-test-no-such-uart\"\n[server]\nlisten = [\"127.0.0.1:0\"]\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runGnomon(t, "run", "--config", p)
	if code != 1 || !strings.Contains(out, p+":3: board.serial_path:") || !strings.Contains(out, "no-such-uart") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// TestCommandLine covers usage errors and version.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "gnomon "},
		{[]string{"run"}, 2, "exactly one of --sim and --config"},
		{[]string{"run", "--sim", "--config", "x"}, 2, "exactly one of --sim and --config"},
		{[]string{"run", "--sim", "--ntp-listen", "nohost"}, 2, "--ntp-listen"},
		{[]string{"run", "--sim", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	} {
		code, out := runGnomon(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("gnomon %v: exit %d, output:\n%s\nwant exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}

func TestListFlag(t *testing.T) {
	var l listFlag
	for _, s := range []string{"127.0.0.1:123,[::1]:123", " 10.0.0.1:123 "} {
		if err := l.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.String(); got != "127.0.0.1:123,[::1]:123,10.0.0.1:123" {
		t.Errorf("listFlag = %q", got)
	}
}
