// Package interop holds gnomon's end-to-end tests against real NTP software:
// ntpsec's ntpdig, ntpdate and ntpq, chronyd as a client, and tshark's NTP
// dissector, with gnomon serving port 123 in a network namespace each test
// creates (so they need root, as `make test` runs in CI).
package interop
