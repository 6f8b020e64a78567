package main

import (
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumFlags run Debian's chromium headless, without a sandbox (root in
// CI), a GPU or any traffic of its own.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--no-first-run", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
	"--enable-logging=stderr", "--v=0", "--window-size=640,1600", "--virtual-time-budget=8000"}

// chromium runs chromium with a fresh profile and the flags, and returns
// its stdout and stderr.
func chromium(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/install-test-deps.sh installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append(append([]string{"--user-data-dir=" + t.TempDir()}, chromiumFlags...), args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, e.String())
	}
	return o.String(), e.String()
}

// consoleRE matches the page's console messages and uncaught errors as
// chromium logs them.
var consoleRE = regexp.MustCompile(`(?m)^.*(CONSOLE|Uncaught|Failed to load resource).*$`)

// TestWebPageInChromium loads the status page of gnomon run --sim in
// headless Chromium: no console message or error, the hour plots and the
// sky drawn (the page marks them on <body> and the canvas), and in the
// screenshot the plot lines' blue.
func TestWebPageInChromium(t *testing.T) {
	_, _, addr := startViewsSim(t)
	url := "http://" + addr + "/"
	// Two hour points (10 s apart) make a line.
	deadline := time.Now().Add(40 * time.Second)
	for {
		var plots struct{ Hour []json.RawMessage }
		resp, err := http.Get(url + "api/plots")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&plots)
			resp.Body.Close()
		}
		if err == nil && len(plots.Hour) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no three hour points within 40 s: %v", err)
		}
		time.Sleep(time.Second)
	}
	var weight int
	for _, p := range []string{"", "app.js", "style.css", "api/report", "api/plots"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		buf := make([]byte, 32<<10)
		for {
			k, err := resp.Body.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /%s: %s", p, resp.Status)
		}
		weight += int(n)
	}
	t.Logf("page weight: %d bytes (page, script, style and first data)", weight)
	if weight > 64<<10 {
		t.Errorf("page weight %d bytes, want well under 64 KiB for a Pi Zero", weight)
	}

	dom, logs := chromium(t, "--dump-dom", url)
	if m := consoleRE.FindAllString(logs, -1); len(m) > 0 {
		t.Errorf("console output: %q", m)
	}
	if !strings.Contains(dom, `data-plots-drawn="3"`) {
		t.Errorf("the three hour plots are not marked drawn:\n%s", dom)
	}
	if !strings.Contains(dom, `data-satellites="11"`) {
		t.Errorf("the sky view does not show the 11 satellites in view")
	}
	if !strings.Contains(dom, `class="badge ok">synchronised since `) || !strings.Contains(dom, "<td>*</td><td>GPS</td>") {
		t.Errorf("state at a glance missing:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	_, logs = chromium(t, "--screenshot="+shot, url)
	if m := consoleRE.FindAllString(logs, -1); len(m) > 0 {
		t.Errorf("console output: %q", m)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The plot lines are #1565c0; nothing else on the page is that blue.
	var blue int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if bl>>8 > 150 && r>>8 < 80 && g>>8 < 140 {
				blue++
			}
		}
	}
	t.Logf("screenshot %v: %d plot-line pixels", b.Size(), blue)
	if blue < 300 {
		t.Errorf("screenshot has %d plot-line pixels, want the three hour plots drawn", blue)
	}
}
