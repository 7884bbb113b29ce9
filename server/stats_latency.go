package server

import (
	"sync/atomic"
	"time"
)

// Latency of the calls that leave the event loop's hands: engine publishes,
// history reads, joins (the engine subscription and the read), presence
// queries, and connect hook calls. They are timed around the call itself,
// wherever it runs (a worker, or the loop for an Inline engine), into one
// fixed-bucket histogram per op. Several goroutines observe into one
// histogram, so its counts are atomic adds: one per call, never one per
// delivery.

// maxOps bounds the ops a histogram is kept for.
const maxOps = 8

// opNames names the ops in Stats.Latency.
var opNames = [maxOps]string{
	opPublish:  "publish",
	opRead:     "read",
	opJoin:     "join",
	opAuth:     "auth",
	opPresence: "presence",
}

// LatencyBounds are the upper bounds of the latency histograms' buckets,
// from an in-process engine's microseconds to a struggling network
// engine's seconds. A last, unbounded bucket holds the rest.
var LatencyBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// latency is one op's histogram.
type latency struct {
	counts [len(LatencyBounds) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *latency) observe(d time.Duration) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// callClock anchors the timing of calls: time.Since(callClock) reads the
// monotonic clock alone, where time.Now reads the wall clock too, which
// doubles the cost (about 100 ns against 35 on this project's VMs; a
// short poll times one call). A duration needs no wall clock.
var callClock = time.Now()

// now is the start of a timed call (a method, so that callers need not
// import time).
func (*serverStats) now() time.Duration { return time.Since(callClock) }

// endCall records a call of op o that began at start; meant to be
// deferred with start evaluated at the defer.
func (st *serverStats) endCall(o op, start time.Duration) {
	if int(o) < maxOps {
		st.calls[o].observe(time.Since(callClock) - start)
	}
}

// Histogram is a snapshot of a latency histogram.
type Histogram struct {
	// Count is the number of calls, Sum their total duration.
	Count uint64
	Sum   time.Duration
	// Cumulative[i] counts the calls that took at most LatencyBounds[i].
	Cumulative [len(LatencyBounds)]uint64
}

// latencies snapshots every op's histogram that has seen a call.
func (st *serverStats) latencies() map[string]Histogram {
	out := make(map[string]Histogram)
	for o := range st.calls {
		if opNames[o] == "" {
			continue
		}
		h := &st.calls[o]
		var snap Histogram
		var run uint64
		for i := range h.counts {
			run += h.counts[i].Load()
			if i < len(snap.Cumulative) {
				snap.Cumulative[i] = run
			}
		}
		// Count is the sum of the buckets read, so that the snapshot is
		// consistent with itself even while calls are observed.
		snap.Count = run
		snap.Sum = time.Duration(h.sum.Load())
		out[opNames[o]] = snap
	}
	return out
}
