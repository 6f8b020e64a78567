package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/gnomon-ntp/gnomon/board"
	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/setup"
)

// setupCmd is "gnomon setup": plan (and with --apply, make) the changes a
// Pi needs for a hat.
func setupCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gnomon setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hat := fs.String("hat", "", "the GPS hat `name` ("+joinNames()+", or a short name such as uputronics)")
	modelTree := fs.String("model-tree", "/", "root `dir` whose proc/device-tree/model names the Pi")
	bootDir := fs.String("boot-dir", "", "the boot partition `dir` holding config.txt and cmdline.txt (default /boot/firmware, else /boot)")
	root := fs.String("root", "/", "root `dir` under which etc/gnomon/gnomon.toml is written")
	gokrazy := fs.Bool("gokrazy-json", false, "print the config.txt lines and gnomon.toml of the gokrazy SD image for the hat as JSON (make image)")
	apply := fs.Bool("apply", false, "edit config.txt and cmdline.txt (backups kept) and disable hciuart where Bluetooth shares the UART")
	var pin *int
	fs.Func("pps-pin", "BCM `gpio` the PPS output is wired to (required for a hand-wired receiver)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a GPIO number", s)
		}
		pin = &n
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *hat == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "gnomon setup: give --hat NAME (known: "+joinNames()+")")
		return 2
	}
	if *gokrazy {
		img, err := setup.ImagePlan(*hat, pin)
		if err != nil {
			fmt.Fprintln(stderr, "gnomon", err)
			return 1
		}
		if err := json.NewEncoder(stdout).Encode(img); err != nil {
			fmt.Fprintln(stderr, "gnomon setup:", err)
			return 1
		}
		return 0
	}
	if *bootDir == "" {
		*bootDir = setup.DefaultBootDir()
	}
	p, err := setup.NewPlan(*modelTree, *hat, pin)
	if err != nil {
		fmt.Fprintln(stderr, "gnomon", err)
		return 1
	}
	p.Print(stdout, *bootDir)
	msg, err := p.WriteConfig(*root)
	if err != nil {
		fmt.Fprintln(stderr, "gnomon", err)
		return 1
	}
	fmt.Fprintln(stdout, "\n"+msg)
	if !*apply {
		fmt.Fprintln(stdout, "Nothing changed in the boot partition: run again with --apply to make these changes, or make them by hand.")
		return 0
	}
	var disable func(string) error
	if *modelTree == "/" && *root == "/" {
		// The running Pi itself: disable the service for real.
		disable = func(s string) error { return exec.Command("systemctl", "disable", "--now", s).Run() }
	}
	changes, err := p.Apply(*bootDir, disable)
	for _, c := range changes {
		fmt.Fprintln(stdout, "changed:", c)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gnomon", err)
		return 1
	}
	if disable == nil {
		for _, s := range p.Services {
			fmt.Fprintf(stdout, "still to do (on the Pi): sudo systemctl disable --now %s\n", s)
		}
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "The boot files already had every line: nothing changed.")
		return 0
	}
	fmt.Fprintln(stdout, "Reboot for the changes to take effect: sudo reboot")
	return 0
}

func joinNames() string { return strings.Join(board.Names(), ", ") }
