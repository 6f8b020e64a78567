package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/internal/fielderr"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.ListenAddrs = nil }, "ListenAddrs: at least one address"},
		{func(c *Config) { c.ListenAddrs = []string{"localhost:123"} }, "literal IP"},
		{func(c *Config) { c.ListenAddrs = []string{"127.0.0.1"} }, "literal IP"},
		{func(c *Config) { c.Workers = 0 }, "Workers"},
		{func(c *Config) { c.BatchSize = 0 }, "BatchSize"},
		{func(c *Config) { c.RateInterval = time.Microsecond }, "RateInterval"},
		{func(c *Config) { c.RateBurst = 0 }, "RateBurst"},
		{func(c *Config) { c.RateLeakLog2 = -2 }, "RateLeakLog2"},
		{func(c *Config) { c.RateTableEntries = 1 }, "RateTableEntries"},
		{func(c *Config) { c.RateIPv6PrefixLen = 8 }, "RateIPv6PrefixLen"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error about %s, got %v", tc.want, err)
		}
	}
	c := DefaultConfig()
	c.RateInterval, c.RateBurst = 0, 0 // rate limiting off: its other fields are ignored
	if err := c.Validate(); err != nil {
		t.Errorf("rate limiting off: %v", err)
	}
}

func TestKoDPoll(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		want     int8
	}{{0, 4}, {2 * time.Second, 4}, {16 * time.Second, 4}, {17 * time.Second, 5}, {1024 * time.Second, 10}, {100 * time.Hour, 17}} {
		c := DefaultConfig()
		c.RateInterval = tc.interval
		if got := c.kodPollLog2(); got != tc.want {
			t.Errorf("interval %v: KoD poll %d, want %d", tc.interval, got, tc.want)
		}
	}
}

func TestStatsLogValue(t *testing.T) {
	var s Stats
	s.Received, s.Answered = 5, 3
	s.Drops[DropRateLimit], s.Drops[DropModePrivate] = 1, 1
	got := s.LogValue().String()
	for _, want := range []string{"received=5", "answered=3", "drop_rate_limit=1", "drop_mode7=1"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "drop_short") || s.Dropped() != 2 {
		t.Errorf("%q, dropped %d", got, s.Dropped())
	}
	for r := DropNone; r < numDropReasons; r++ {
		if r.String() == "" || r.String() == "unknown" {
			t.Errorf("reason %d unnamed", r)
		}
	}
	if DropReason(200).String() != "unknown" {
		t.Error("out of range reason named")
	}
}

// TestConfigValidateFields: Validate reports every wrong field, each as a
// *FieldError naming the Go field.
func TestConfigValidateFields(t *testing.T) {
	c := DefaultConfig()
	c.ListenAddrs = []string{":123"} // every address, but not a literal IP
	c.RateBurst = 0
	fields, other := fielderr.Fields(c.Validate())
	if strings.Join(fields, " ") != "ListenAddrs RateBurst" || other != nil {
		t.Errorf("fields %v (and %v), want ListenAddrs and RateBurst", fields, other)
	}
}
