// Package discipline steers a clock to the reference: a servo on phase and
// frequency, steps at start, leap seconds, holdover and the drift file.
package discipline
