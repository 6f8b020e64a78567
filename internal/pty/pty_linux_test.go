package pty

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRawRoundTrip(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := os.OpenFile(p.Path, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Raw mode: CR and LF arrive untouched, nothing is echoed.
	const msg = "$GPZDA,1\r\n\x00\xff"
	if _, err := p.Master.WriteString(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("read %q, want %q", got, msg)
	}
}
