// Package server answers NTP requests (RFC 5905) from the discipline's
// published state: packet codec, response builder and UDP serving.
package server
