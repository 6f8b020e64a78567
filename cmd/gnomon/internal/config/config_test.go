package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/selection"
	"github.com/gnomon-ntp/gnomon/server"
)

const good = `# a Pi with an Uputronics hat
[board]
hat = "uputronics"
pps_device = "/dev/pps0"
edge_delay = "150ns"

[refclock]
nmea_delay = "250ms"

[discipline]
drift_file = "/var/lib/gnomon/drift"

[server]
listen = [
  "0.0.0.0:123",
  "[::]:123",
]

[system]
user = "gnomon"
log_level = "debug"
`

func TestParseGood(t *testing.T) {
	c, err := Parse("gnomon.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Board.Hat != "uputronics" || c.Board.PPSDevice != "/dev/pps0" || c.Board.EdgeDelay != 150*time.Nanosecond {
		t.Errorf("board = %+v", c.Board)
	}
	if c.Refclock.NMEADelay != 250*time.Millisecond || c.Refclock.MaxNMEADelay != refclock.DefaultLockerConfig().MaxNMEADelay {
		t.Errorf("refclock = %+v (max_nmea_delay should keep its default)", c.Refclock)
	}
	if got := strings.Join(c.Server.Listen, " "); got != "0.0.0.0:123 [::]:123" {
		t.Errorf("listen = %q", got)
	}
	if c.System.User != "gnomon" || c.System.LogLevel != "debug" || c.Board.Polarity != "" {
		t.Errorf("system = %+v, polarity %q", c.System, c.Board.Polarity)
	}
	for key, line := range map[string]int{"board": 2, "board.hat": 3, "refclock.nmea_delay": 8, "server.listen": 14, "system.log_level": 21} {
		if got := c.Line(key); got != line {
			t.Errorf("Line(%q) = %d, want %d", key, got, line)
		}
	}
}

func TestDefaultsWhenLeftOut(t *testing.T) {
	c, err := Parse("x.toml", []byte("[board]\nhat = \"adafruit\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.DefaultConfig()
	if !slices.Equal(c.Server.Listen, srv.ListenAddrs) || c.Discipline.DriftFile != DefaultDriftFile ||
		c.Server.RateInterval != srv.RateInterval || c.Server.RateBurst != srv.RateBurst {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestTemperatureFileKey: discipline.temperature_file defaults to the SoC
// sensor, takes an absolute path at its line, and "" disables it.
func TestTemperatureFileKey(t *testing.T) {
	c, err := Parse("t.toml", []byte("[board]\nhat = \"adafruit\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Discipline.TemperatureFile != discipline.DefaultTemperatureFile || c.Line("discipline.temperature_file") != 0 {
		t.Errorf("left out: %q at line %d, want the default, set by no line", c.Discipline.TemperatureFile, c.Line("discipline.temperature_file"))
	}
	c, err = Parse("t.toml", []byte("[board]\nhat = \"adafruit\"\n[discipline]\ntemperature_file = \"/sys/class/thermal/thermal_zone1/temp\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Discipline.TemperatureFile != "/sys/class/thermal/thermal_zone1/temp" || c.Line("discipline.temperature_file") != 4 {
		t.Errorf("set: %q at line %d", c.Discipline.TemperatureFile, c.Line("discipline.temperature_file"))
	}
	c, err = Parse("t.toml", []byte("[board]\nhat = \"adafruit\"\n[discipline]\ntemperature_file = \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Discipline.TemperatureFile != "" {
		t.Errorf("empty: %q, want disabled", c.Discipline.TemperatureFile)
	}
}

// fieldErr parses doc and returns its single *Error.
func fieldErrs(t *testing.T, doc string) []*Error {
	t.Helper()
	_, err := Parse("gnomon.toml", []byte(doc))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", doc)
	}
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("error %v (%T) is not an *Error", err, err)
		}
		out = append(out, fe)
	}
	walk(err)
	return out
}

func TestErrorsNameLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		line      int
		field     string
		msg       string
	}{
		{"unknown key", "[board]\nhat = \"uputronics\"\nbuad = 9600\n", 3, "board.buad", "unknown key"},
		{"unknown hat", "[board]\n\nhat = \"adafroot\"\n", 3, "board.hat", "unknown hat"},
		{"method without device", "[board]\nhat = \"waveshare\"\npps_method = \"kernel\"\n", 3, "board.pps_method", "has no PPS device"},
		{"unknown section", "[board]\nhat = \"adafruit\"\n\n[sever]\n", 4, "sever", "unknown key"},
		{"bad baud", "[board]\nhat = \"adafruit\"\nbaud = 9601\n", 3, "board.baud", "not a supported baud rate"},
		{"bad duration", "[board]\nhat = \"adafruit\"\n[refclock]\n\nnmea_delay = \"2 seconds\"\n", 5, "refclock.nmea_delay", "invalid duration"},
		{"delay order", "[board]\nhat = \"adafruit\"\n[refclock]\nnmea_delay = \"300ms\"\nmax_nmea_delay = \"250ms\"\n", 5, "refclock.max_nmea_delay", "below the typical NMEA delay 300ms"},
		{"bad listen", "[board]\nhat = \"adafruit\"\n[server]\nlisten = [\"localhost:ntp\"]\n", 4, "server.listen", "want a literal IP"},
		{"bad rate", "[board]\nhat = \"adafruit\"\n[server]\nrate_interval = \"10us\"\n", 4, "server.rate_interval", "at least 1ms"},
		{"bad burst", "[board]\nhat = \"adafruit\"\n[server]\nrate_burst = 0\n", 4, "server.rate_burst", "not in [1, 65536]"},
		{"bad level", "[board]\nhat = \"adafruit\"\n[system]\nlog_level = \"loud\"\n", 4, "system.log_level", "not one of"},
		{"relative drift", "[board]\nhat = \"adafruit\"\n[discipline]\ndrift_file = \"drift\"\n", 4, "discipline.drift_file", "absolute"},
		{"relative temperature", "[board]\nhat = \"adafruit\"\n[discipline]\n\ntemperature_file = \"sys/temp\"\n", 5, "discipline.temperature_file", "not an absolute path"},
		{"syntax", "[board]\nhat = \"adafruit\"\nbaud = = 3\n", 3, "", "expected value"},
		{"no hat needs serial", "[board]\nbaud = 9600\npps_device = \"/dev/pps0\"\n", 0, "board.serial_path", "required"},
		{"bare PPS without upstreams", "[board]\nhat = \"uputronics\"\nserial_path = \"none\"\n", 3, "board.serial_path", "needs [ntp] servers or pools"},
		{"bare PPS with baud", "[board]\nserial_path = \"none\"\npps_device = \"/dev/pps0\"\nbaud = 9600\n[ntp]\nservers = [\"192.0.2.1\"]\n", 4, "board.baud", "serial_path is none"},
		{"negative GPS disagreement", "[board]\nhat = \"adafruit\"\n[ntp]\nmax_gps_disagreement = \"-1s\"\n", 4, "ntp.max_gps_disagreement", "must not be negative"},
		{"bad pin", "[board]\nhat = \"adafruit\"\npps_pin = 2000\n", 3, "board.pps_pin", "not a GPIO line"},
		{"edge delay", "[board]\nhat = \"adafruit\"\n\nedge_delay = \"2ms\"\n", 4, "board.edge_delay", "2ms is outside -1ms..1ms"},
		{"max below the hat's delay", "[board]\nhat = \"adafruit\"\n[refclock]\nmax_nmea_delay = \"300ms\"\n", 4, "refclock.max_nmea_delay", "below the typical NMEA delay 350ms"},
		{"nmea delay too long", "[board]\nhat = \"adafruit\"\n[refclock]\nmax_nmea_delay = \"900ms\"\nnmea_delay = \"1s\"\n", 5, "refclock.nmea_delay", "outside [0, 1s)"},
		{"nmea delay error too long", "[board]\nhat = \"adafruit\"\n[refclock]\nnmea_delay_error = \"2s\"\n", 4, "refclock.nmea_delay_error", "outside [0, 1s)"},
		{"no step", "[board]\nhat = \"adafruit\"\n[discipline]\nstep_threshold = \"0s\"\n", 4, "discipline.step_threshold", "must be positive"},
		{"every address", "[board]\nhat = \"adafruit\"\n[server]\nlisten = [\":123\"]\n", 4, "server.listen", "want a literal IP"},
		{"empty listen", "[board]\nhat = \"adafruit\"\n[server]\nlisten = []\n", 4, "server.listen", "at least one address"},
		{"bad polarity", "[board]\nhat = \"adafruit\"\npolarity = \"up\"\n", 3, "board.polarity", "want rising or falling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := fieldErrs(t, tc.doc)
			fe := errs[0]
			if fe.Line != tc.line || !strings.Contains(fe.Field+" "+fe.Msg, tc.field) || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %q (line %d field %q), want line %d field %q message containing %q", fe, fe.Line, fe.Field, tc.line, tc.field, tc.msg)
			}
			if tc.line > 0 && !strings.HasPrefix(fe.Error(), "gnomon.toml:") {
				t.Errorf("%q does not start with the file name", fe)
			}
		})
	}
}

func TestTypeMismatchNamesLineAndKey(t *testing.T) {
	_, err := Parse("g.toml", []byte("[board]\nhat = \"adafruit\"\nbaud = \"fast\"\n"))
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != 3 || fe.Field != "board.baud" || fe.Msg != "is a string, want a whole number" {
		t.Errorf("err = %v, want our *Error naming line 3 and board.baud", err)
	}
}

// TestDurationNeedsUnit: a bare number is not a duration (the decoder would
// take 128 as 128 ns); every wrong type is reported, each with its line.
func TestDurationNeedsUnit(t *testing.T) {
	doc := "[board]\nhat = \"adafruit\"\n[discipline]\nstep_threshold = 128\nmax_step = 1.5\n[server]\nrate_burst = \"16\"\nlisten = \"0.0.0.0:123\"\n"
	_, err := Parse("g.toml", []byte(doc))
	want := []string{
		`g.toml:4: discipline.step_threshold: a number without a unit: write a duration with its unit, as a string such as "128ms" (a bare number is not taken as nanoseconds)`,
		`g.toml:5: discipline.max_step: a number without a unit`,
		`g.toml:7: server.rate_burst: is a string, want a whole number`,
		`g.toml:8: server.listen: is a string, want a list`,
	}
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	if _, err := Parse("g.toml", []byte("[board]\nhat = \"adafruit\"\n[discipline]\nstep_threshold = \"128ms\"\n")); err != nil {
		t.Errorf("a duration with its unit: %v", err)
	}
}

func TestSyntaxErrorUnwraps(t *testing.T) {
	_, err := Parse("g.toml", []byte("[board]\nhat = = 1\n"))
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Position.Line != 2 {
		t.Errorf("err = %v, want it to wrap the decoder's ParseError at line 2", err)
	}
}

func TestAllErrorsReported(t *testing.T) {
	errs := fieldErrs(t, "[board]\nhat = \"adafruit\"\nbaud = 7\n[system]\nlog_level = \"loud\"\n")
	if len(errs) != 2 {
		t.Errorf("got %d errors (%v), want 2", len(errs), errs)
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g.toml")
	if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.File() != p {
		t.Errorf("File() = %q", c.File())
	}
	if _, err := Load(p + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	if e := c.Errorf("board.hat", "unknown hat %q", "x"); e.Error() != p+":3: board.hat: unknown hat \"x\"" {
		t.Errorf("Errorf = %q", e)
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, s := range []string{"debug", "info", "warn", "error", "INFO"} {
		if _, err := ParseLogLevel(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// FuzzParse feeds arbitrary documents to the config parser (the decoder and
// our own key-line scanner): it must never panic, and every refusal must be
// an *Error naming the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("[board]\nbaud = 9601\n"))
	f.Add([]byte("[server]\nlisten = [\n\"1.2.3.4:123\",\n]\n[bogus]\nx=1\n"))
	f.Add([]byte("a = '''\nmulti\n'''\n[board\n"))
	f.Add([]byte("[refclock]\nnmea_delay = \"2s\"\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse("fuzz.toml", doc)
		if err == nil {
			if c == nil {
				t.Fatal("nil config without an error")
			}
			if verr := c.Validate(); verr != nil {
				t.Fatalf("accepted a config that fails Validate: %v", verr)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.File != "fuzz.toml" {
			t.Fatalf("error %q (%T) is not an *Error naming the file", err, err)
		}
	})
}

// TestDefaultFile: gnomon config default names every key of the file once,
// each after a comment with its unit and default, and parses back to the
// defaults.
func TestDefaultFile(t *testing.T) {
	text := DefaultFile()
	for _, k := range Keys() {
		_, name, _ := strings.Cut(k, ".")
		if n := strings.Count(text, "\n"+name+" = ") + strings.Count(text, "\n# "+name+" = "); n != 1 {
			t.Errorf("key %s appears %d times", k, n)
		}
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "[") {
			if i == 0 || !strings.Contains(lines[i-1], "default") || !strings.Contains(lines[i-1], "(") {
				t.Errorf("line %d %q has no comment with its unit and default before it", i+1, l)
			}
		}
	}
	c, err := Parse("default.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Board.Hat, want.Board.PPSMethod = board.DefaultConfig().Hat, board.DefaultConfig().PPSMethod
	if !reflect.DeepEqual(c.Board, want.Board) || !reflect.DeepEqual(c.Discipline, want.Discipline) ||
		!reflect.DeepEqual(c.Server, want.Server) || !reflect.DeepEqual(c.System, want.System) || c.Refclock != want.Refclock {
		t.Errorf("default file parses to %+v, want %+v", c, want)
	}
}

// TestViewsSection: [views] sets the HTTP address and the control socket,
// and a wrong value is refused at its line.
func TestViewsSection(t *testing.T) {
	c, err := Parse("v.toml", []byte(good+"\n[views]\nhttp_listen = \"127.0.0.1:8123\"\ncontrol_socket = \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Views.HTTPListen != "127.0.0.1:8123" || c.Views.ControlSocket == nil || *c.Views.ControlSocket != "" {
		t.Errorf("views %+v", c.Views)
	}
	for _, bad := range []struct{ doc, want string }{
		{"[views]\nhttp_listen = \"8123\"\n", "views.http_listen"},
		{"[views]\n\ncontrol_socket = \"run/g.sock\"\n", "views.control_socket"},
	} {
		_, err := Parse("v.toml", []byte(good+"\n"+bad.doc))
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "v.toml:") {
			t.Errorf("%q: %v, want an error at the line of %s", bad.doc, err, bad.want)
		}
	}
}

// TestBarePPSConfig: serial_path = "none" with upstreams is a bare PPS
// wire: the resolved hat has no UART and keeps the profile's PPS input.
func TestBarePPSConfig(t *testing.T) {
	c, err := Parse("g.toml", []byte("[board]\nhat = \"uputronics\"\nserial_path = \"none\"\n[ntp]\nservers = [\"192.0.2.1 iburst\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Hat()
	if err != nil || h.SerialPath != "" || h.Baud != 0 || h.PPSPin != 18 {
		t.Errorf("hat %+v, %v", h, err)
	}
	if got := c.SelectionConfig().MaxRefclockDisagreement; got != selection.DefaultMaxRefclockDisagreement {
		t.Errorf("GPS disagreement bound %v, want the default", got)
	}
	c, err = Parse("g.toml", []byte("[board]\nhat = \"uputronics\"\n[ntp]\nmax_gps_disagreement = \"0s\"\n"))
	if err != nil || c.SelectionConfig().MaxRefclockDisagreement != 0 {
		t.Errorf("0s: %v", err)
	}
}
