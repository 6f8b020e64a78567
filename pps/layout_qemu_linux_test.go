//go:build linux && amd64

package pps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayoutUnderQEMU cross-compiles this package's tests for the Pi's
// architectures and runs the layout tests under qemu-user, so the
// per-GOARCH tables are checked where they matter, not only on amd64.
// scripts/install-test-deps.sh installs qemu-user-static. (386 is left
// out: Go's 386 binaries die under qemu-i386 with "bad g in signal
// handler", and this kernel runs no 32-bit x86 binaries natively.)
func TestLayoutUnderQEMU(t *testing.T) {
	goBin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	targets := []struct {
		goarch, goarm, qemu string
	}{
		{"arm", "6", "qemu-arm-static"},
		{"arm64", "", "qemu-aarch64-static"},
	}
	dir := t.TempDir()
	for _, tg := range targets {
		t.Run(tg.goarch, func(t *testing.T) {
			t.Parallel()
			emu, err := exec.LookPath(tg.qemu)
			if err != nil {
				t.Fatalf("%s not found (run scripts/install-test-deps.sh): %v", tg.qemu, err)
			}
			bin := filepath.Join(dir, "pps-"+tg.goarch+".test")
			build := exec.Command(goBin, "test", "-c", "-o", bin, ".")
			build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm, "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cross-compile for %s: %v\n%s", tg.goarch, err, out)
			}
			run := exec.Command(emu, bin, "-test.run", "^TestLayout(PPS|GPIO)$", "-test.v", "-test.count=1")
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("layout tests under %s failed: %v\n%s", tg.qemu, err, out)
			}
			for _, name := range []string{"TestLayoutPPS", "TestLayoutGPIO"} {
				if !strings.Contains(string(out), "--- PASS: "+name) {
					t.Errorf("%s did not pass under %s:\n%s", name, tg.qemu, out)
				}
			}
			if !strings.Contains(string(out), "GOARCH="+tg.goarch) {
				t.Errorf("binary under %s did not report GOARCH=%s:\n%s", tg.qemu, tg.goarch, out)
			}
		})
	}
}
