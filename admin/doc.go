// Package admin is a Comet node's admin listener: an HTTP server on its
// own address, never the public port, with
//
//   - /metrics: Prometheus text exposition of a prometheus.Gatherer;
//   - /healthz: 200 while the process serves (liveness);
//   - /readyz: 200 while the node takes new clients, 503 while its engine
//     is unreachable or it drains (readiness);
//   - /debug/pprof/: the Go profiler;
//   - /dashboard: a live page fed over the node's own public SSE by the
//     stats feed (feed.go), which publishes the node's counters to a
//     channel once per interval.
//
// Everything but /healthz and /readyz needs the admin token when one is
// configured (Authorization: Bearer TOKEN, or HTTP Basic with the token as
// password, which browsers ask for by themselves), and New refuses an
// address that is not loopback without one: a listener misconfigured onto
// a public address must not hand out heap profiles.
//
// It is plain net/http, off the event loops: nothing here is on the
// delivery path.
//
// Imports: package server (the stats feed's types), the Prometheus client
// library, the standard library. Never gnet, an engine implementation, or
// cmd/.
//
// Concurrency: Server's methods are safe for concurrent use; SetToken
// may be called while requests are served (a reload).
package admin
