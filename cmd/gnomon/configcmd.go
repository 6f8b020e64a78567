package main

import (
	"fmt"
	"io"

	"github.com/gnomon-ntp/gnomon/cmd/gnomon/internal/config"
)

// configCmd is "gnomon config check FILE" and "gnomon config default".
func configCmd(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && args[0] == "default":
		fmt.Fprint(stdout, config.DefaultFile())
		return 0
	case len(args) == 2 && args[0] == "check":
		c, err := config.Load(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		hat, _ := c.Hat() // validated by Load
		fmt.Fprintf(stdout, "%s: ok (hat %s, NMEA on %s)\n", args[1], hat.Name, hat.SerialPath)
		return 0
	}
	fmt.Fprintln(stderr, "usage: gnomon config check FILE | gnomon config default")
	return 2
}
