// Package pps reads pulse-per-second edges: from the kernel's RFC 2783
// interface (/dev/ppsN), from a GPIO line, or from a simulation.
package pps
