package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/discipline"
	"github.com/gnomon-ntp/gnomon/refclock"
	"github.com/gnomon-ntp/gnomon/server"
)

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse("g.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApplyOverrides(t *testing.T) {
	doc := "[board]\nhat = \"adafruit\"\n[discipline]\ndrift_file = \"/var/lib/x\"\n[server]\nlisten = [\"127.0.0.1:123\"]\n[system]\nuser = \"ntp\"\ngroup = \"ntp\"\nlog_level = \"warn\"\n"

	c := mustParse(t, doc)
	c.Apply(Overrides{})
	if c.Server.Listen[0] != "127.0.0.1:123" || c.Discipline.DriftFile != "/var/lib/x" || c.System.User != "ntp" ||
		c.System.Group != "ntp" || c.System.LogLevel != "warn" || c.Server.RateInterval == 0 {
		t.Errorf("empty overrides changed the file's settings: %+v", c)
	}

	none := ""
	c = mustParse(t, doc)
	c.Apply(Overrides{Listen: []string{"[::1]:11123"}, DriftFile: &none, LogLevel: "debug", User: "nobody", NoRateLimit: true})
	if got := strings.Join(c.Server.Listen, " "); got != "[::1]:11123" {
		t.Errorf("listen = %q", got)
	}
	if c.Discipline.DriftFile != "" || c.System.LogLevel != "debug" || c.System.User != "nobody" || c.System.Group != "" {
		t.Errorf("overrides not applied: %+v (a --user clears the group)", c)
	}
	if s := c.ServerConfig(); s.RateInterval != 0 || s.ListenAddrs[0] != "[::1]:11123" {
		t.Errorf("server config %+v, want rate limiting off on [::1]:11123", s)
	}
}

func TestPackageConfigs(t *testing.T) {
	c := mustParse(t, "[board]\nhat = \"uputronics\"\nedge_delay = \"-50ns\"\n[refclock]\nmax_nmea_delay = \"600ms\"\naccept_invalid = true\n"+
		"[discipline]\nstep_threshold = \"1s\"\n[server]\nlisten = [\"127.0.0.1:0\"]\nrate_interval = \"4s\"\nrate_burst = 8\n")
	hat, err := c.Hat()
	if err != nil {
		t.Fatal(err)
	}
	profile, _ := board.Profile("uputronics")
	r := c.RefclockConfig(hat)
	if r.Locker.NMEADelay != profile.NMEADelay || r.Locker.EdgeDelay != -50*time.Nanosecond ||
		r.Locker.MaxNMEADelay != 600*time.Millisecond || !r.Locker.AcceptInvalid {
		t.Errorf("refclock locker %+v: want the hat's NMEA delay, the file's edge delay, max delay and accept_invalid", r.Locker)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
	d := c.DisciplineConfig()
	if want := discipline.DefaultConfig(); d.StepThreshold != time.Second || d.MaxSlewPPM != want.MaxSlewPPM {
		t.Errorf("discipline %+v", d)
	}
	s := c.ServerConfig()
	if want := server.DefaultConfig(); s.RateInterval != 4*time.Second || s.RateBurst != 8 || s.Workers != want.Workers || s.ListenAddrs[0] != "127.0.0.1:0" {
		t.Errorf("server %+v", s)
	}

	// nmea_delay set in the file beats the hat's.
	c = mustParse(t, "[board]\nhat = \"uputronics\"\n[refclock]\nnmea_delay = \"90ms\"\n")
	hat, _ = c.Hat()
	if r := c.RefclockConfig(hat); r.Locker.NMEADelay != 90*time.Millisecond {
		t.Errorf("NMEA delay %v, want the file's 90ms", r.Locker.NMEADelay)
	}
	// Left out, the refclock's own default holds.
	if got, want := c.RefclockConfig(hat).Locker.MaxNMEADelay, refclock.DefaultLockerConfig().MaxNMEADelay; got != want {
		t.Errorf("max NMEA delay %v, want refclock's default %v", got, want)
	}
}

func TestLeapTable(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	list := filepath.Join(dir, "leap-seconds.list")
	if err := os.WriteFile(list, []byte("#@\t3707596800\n3692217600\t37\t# 1 Jan 2017\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "none.list")
	doc := "[board]\nhat = \"adafruit\"\n[discipline]\nleap_seconds_file = %q\n"

	if l, err := mustParse(t, strings.ReplaceAll(doc, "%q", `""`)).LeapTable(time.Now(), log); l != nil || err != nil {
		t.Errorf("empty key: %v, %v; want leap seconds off", l, err)
	}
	if l, err := mustParse(t, strings.ReplaceAll(doc, "%q", `"`+list+`"`)).LeapTable(time.Now(), log); l == nil || err != nil {
		t.Errorf("table: %v, %v", l, err)
	}
	// Named in the file but missing: an error on its line.
	_, err := mustParse(t, strings.ReplaceAll(doc, "%q", `"`+missing+`"`)).LeapTable(time.Now(), log)
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != 4 || fe.Field != "discipline.leap_seconds_file" || !strings.Contains(fe.Msg, "no such file") {
		t.Errorf("missing file named in the config: %v", err)
	}
	// The default path missing: a warning, no table.
	c := mustParse(t, "[board]\nhat = \"adafruit\"\n")
	c.Discipline.LeapSecondsFile = missing
	if l, err := c.LeapTable(time.Now(), log); l != nil || err != nil {
		t.Errorf("missing default file: %v, %v; want no table and no error", l, err)
	}
}

func TestErrorfNamesTheProfile(t *testing.T) {
	c := mustParse(t, "[board]\nhat = \"uputronics\"\nbaud = 9600\n")
	for key, want := range map[string]string{
		"board.serial_path": "g.toml:2: board.hat: x", // left out: the profile chose it
		"board.baud":        "g.toml:3: board.baud: x",
		"system.user":       "g.toml: system.user: x",
	} {
		if got := c.Errorf(key, "x").Error(); got != want {
			t.Errorf("Errorf(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestDefaultListenServes: a file without server.listen serves NTP on port
// 123 of every address, the server's own default. The default used to be
// ":123", which the server refuses (it wants literal IPs), so such a file
// failed at start.
func TestDefaultListenServes(t *testing.T) {
	c := mustParse(t, "[board]\nhat = \"adafruit\"\n")
	s := c.ServerConfig()
	if err := s.Validate(); err != nil {
		t.Fatalf("server config from a file without server.listen: %v", err)
	}
	want := server.DefaultConfig().ListenAddrs
	if strings.Join(s.ListenAddrs, " ") != strings.Join(want, " ") {
		t.Errorf("listen = %q, want the server's default %q", s.ListenAddrs, want)
	}
	for _, a := range s.ListenAddrs {
		if ap, err := netip.ParseAddrPort(a); err != nil || ap.Port() != 123 || !ap.Addr().IsUnspecified() {
			t.Errorf("listen address %q: want port 123 on every address (%v)", a, err)
		}
	}
}
