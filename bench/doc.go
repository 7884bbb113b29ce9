// Package bench is Comet's load-generator library: it starts a target server
// (Comet; the floor, bench/floor, which does nothing but one write(2) per
// subscriber per message; a goroutine-per-connection baseline; nchan;
// Centrifugo), opens many subscriber connections spread over worker
// processes and loopback source addresses, publishes timestamped messages,
// and measures delivery latency, fan-out completion, loss, duplication,
// throughput, and the server's memory and CPU (per delivery, too) read from
// /proc.
//
// Every target sits behind Target (Start, Stop, PIDs, Endpoint); every
// transport sits behind Endpoint.Dial and Endpoint.Publish, which switch on
// the endpoint's protocol in one place. A scenario named "X-sse" or
// "X-poll" runs X with subscribers on that transport of the same server
// (Comet's, nchan's, Centrifugo's SSE); targets without it are skipped.
//
// bench must not be imported by server or conn. It talks to Comet only over
// the network, so a benchmark measures exactly what a client sees.
//
// Concurrency: Histogram.Record and the delivery recorder are safe for
// concurrent use; everything else belongs to the goroutine that made it
// unless its doc says otherwise.
package bench
