// Package views turns the appliance's status.Snapshot into what an
// operator reads: the Report (the JSON of the control socket and of
// "gnomon status --json"), its text in the shapes of "ntpq -p" and
// "chronyc tracking", the bounded History the web page plots, and the
// Health watcher that names wiring faults. It is pure: values in, values
// out.
package views
