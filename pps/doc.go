// Package pps reads pulse-per-second edges: from the kernel's RFC 2783
// interface (/dev/ppsN), from a GPIO line, or from a simulation.
//
// Sources, best first: OpenKernel (pps-gpio overlay, stamped in the
// interrupt handler, ~1 µs); OpenGPIOLine (GPIO character device v2 line
// events stamped by the kernel on CLOCK_REALTIME, a few µs, no overlay
// needed); NewPeriph (periph WaitForEdge, stamped in user space after the
// wake-up, ~50 µs with millisecond tails); NewSim (edges from a channel).
package pps
