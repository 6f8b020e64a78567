// Package status assembles one Snapshot of the whole appliance — the served
// sync state, every source with its selection standing and counters, the
// GPS receiver, the PPS input and the server's counters — from the parts'
// own snapshots. The views (mode 6, the status socket, metrics, the web
// page) read only the assembled Snapshot; none reaches into a part. It is
// pure data and assembly: no goroutines, no I/O, no logging.
package status
