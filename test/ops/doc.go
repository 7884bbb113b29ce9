// Package ops tests operating Comet end to end, on the real cmd/comet
// binary: the admin listener (metrics scraped and parsed with
// Prometheus's own parser, health, readiness, the token), configuration
// files, -check-config and SIGHUP reloads while clients stay connected, a
// drain spread over its window that a two-node fleet on Redis survives
// without losing an acknowledged message, JSON logs, and the live
// dashboard in headless Chromium (a screenshot under results/screenshots,
// or $COMET_ARTIFACTS).
//
// It has no non-test code but this comment; it imports nothing of the
// module outside its tests.
package ops
