// Package metrics exports a Comet node's counters to Prometheus: a
// prometheus.Collector that reads server.Stats when it is scraped, so that
// counting stays where it is cheap (per-loop counters in package server)
// and the cost of naming, labelling and encoding is paid once per scrape,
// off the event loops.
//
// Every metric is under comet_ and follows the Prometheus naming rules
// (docs/OPERATIONS.md lists them). Label values are lower case with
// underscores ("slow_consumer").
//
// Imports: package server (for Stats), the Prometheus client library and
// the standard library. Never gnet, an engine implementation, or cmd/.
//
// Concurrency: Collect may be called from any goroutine, and concurrently;
// it only calls Stats, which is safe for concurrent use.
package metrics
