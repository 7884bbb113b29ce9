package server

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The memory janitor. Big messages leave big buffers behind: gnet's rings
// and our message buffers go back to pools (sync.Pool: only a GC frees
// them, and only the second GC after their last use), and the Go runtime
// returns freed pages to the system slowly. An idle node that served a
// burst of 16 MiB messages would keep hundreds of megabytes resident for
// minutes: nothing allocates, so no GC runs to find the garbage. So every
// janitorInterval the janitor looks at the heap; when it is past
// janitorSlack and more than twice what it was when last settled, it
// settles it: two GCs (the pools' victims go with the second) and the free
// pages back to the system.
//
// A settle that lands in the middle of a burst records the burst's size as
// the settled level, and the garbage the burst leaves once it ends never
// reaches twice that. So the bar halves with each quiet period after a
// settle, and the node is settled again soon after the burst. A node whose
// heap is large because it serves many clients would then be settled over
// and over for nothing: each settle that frees less than a quarter doubles
// the quiet period (up to janitorMaxBackoff intervals), and one that frees
// more starts it again from one interval.

const (
	janitorInterval   = 5 * time.Second
	janitorSlack      = 64 << 20
	janitorMaxBackoff = 64 // intervals: about five minutes
)

// heapBytes returns the heap's objects (live, and dead ones no GC has
// found yet) and its free, unreleased bytes.
func heapBytes(samples []metrics.Sample) (objects, free uint64) {
	metrics.Read(samples)
	return samples[0].Value.Uint64(), samples[1].Value.Uint64()
}

// janitorState is what the janitor remembers between ticks.
type janitorState struct {
	settled uint64 // the heap after the last settle, or less since
	quiet   int    // intervals since the last settle
	backoff int    // intervals per halving of the bar
}

// due says whether a heap of total bytes should be settled now, and
// counts a tick.
func (j *janitorState) due(total uint64) bool {
	j.quiet++
	halvings := min(j.quiet/j.backoff, 16)
	bar := 2 * j.settled >> halvings
	if total > janitorSlack && total > bar {
		return true
	}
	if total < j.settled {
		j.settled = total
	}
	return false
}

// settledAt records a settle that took the heap from before to after
// bytes.
func (j *janitorState) settledAt(before, after uint64) {
	if after > before/4*3 {
		j.backoff = min(2*j.backoff, janitorMaxBackoff)
	} else {
		j.backoff = 1
	}
	j.settled, j.quiet = after, 0
}

// janitor runs until stop is closed.
func (s *Server) janitor(stop <-chan struct{}) {
	defer s.sweepDone.Done()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	objects, _ := heapBytes(samples)
	j := janitorState{settled: objects, backoff: 1}
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		objects, free := heapBytes(samples)
		if total := objects + free; j.due(total) {
			debug.FreeOSMemory() // a GC, and the free pages back to the system
			debug.FreeOSMemory() // the pools' victims, freed by the first, go too
			after, _ := heapBytes(samples)
			j.settledAt(total, after)
		}
	}
}
