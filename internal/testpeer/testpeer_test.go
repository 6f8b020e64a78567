package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fakeTB records a Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestFindPrefersUnpackedTree(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GNOMON_PEERS", dir)
	if Dir() != dir {
		t.Fatalf("Dir() = %q, want %q", Dir(), dir)
	}
	p := filepath.Join(dir, "chrony/usr/sbin/chronyd")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Chronyd(t); got != p {
		t.Errorf("Chronyd = %q, want the unpacked %q", got, p)
	}
}

func TestMissingPeerFails(t *testing.T) {
	t.Setenv("GNOMON_PEERS", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	f := &fakeTB{TB: t}
	if got := Ntpq(f); got != "" || f.fatal == "" {
		t.Fatalf("Ntpq with no peer = %q, fatal %q: want a failure, not a skip", got, f.fatal)
	}
}

// TestPeersInstalled checks what scripts/install-test-deps.sh installs (make
// test runs it first): each peer is there and executable.
func TestPeersInstalled(t *testing.T) {
	for name, p := range map[string]string{
		"chronyd": Chronyd(t), "ntpq": Ntpq(t), "ntpdig": Ntpdig(t),
		"ntpdate": Ntpdate(t), "tshark": Tshark(t), "python3": Python3,
	} {
		st, err := os.Stat(p)
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s at %s is not an executable file: %v", name, p, err)
		}
	}
}
