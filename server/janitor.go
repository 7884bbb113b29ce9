package server

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The memory janitor. Big messages leave big buffers behind: gnet's rings
// and our message buffers go back to pools (sync.Pool: only a GC frees
// them, and only the second GC after their last use), and the Go runtime
// returns freed pages to the system only down to the heap goal of the last
// GC, which a burst set high. An idle node that served a burst of 16 MiB
// messages would keep hundreds of megabytes resident for minutes: nothing
// allocates, so no GC runs to find the garbage. So every janitorInterval
// the janitor looks at the heap (its objects, live or dead, and its free
// pages not yet returned); when it is past janitorSlack and more than
// twice its level (what the last settle that freed much left, or the
// heap at start, or the least seen since), it settles it: two GCs (the pools'
// victims go with the second) and the free pages back to the system.
//
// Three rules keep that from costing a busy node anything:
//   - No settle while busy: an interval in which the sockets moved more
//     than a quarter of the heap's bytes is one whose traffic may be what
//     holds the heap (a burst in flight); the janitor waits for a quiet
//     one. So the settle lands just after a burst, not in its middle.
//   - A settle that frees less than a quarter of the heap says the heap is
//     live (many clients, not garbage): the quiet intervals before the
//     next settle double, up to janitorMaxBackoff (about five minutes),
//     and what it left is not taken as the new level, so the garbage of a
//     later burst is still seen as such.
//   - One that frees more starts the wait again from one interval.

const (
	janitorInterval   = 5 * time.Second
	janitorSlack      = 32 << 20
	janitorMaxBackoff = 64 // intervals: about five minutes
)

// heapBytes returns the heap's objects (live, and dead ones no GC has
// found yet) and its free, unreleased bytes.
func heapBytes(samples []metrics.Sample) (objects, free uint64) {
	metrics.Read(samples)
	return samples[0].Value.Uint64(), samples[1].Value.Uint64()
}

// janitorState is what the janitor remembers between ticks. Only the
// janitor's goroutine touches it.
type janitorState struct {
	settled uint64 // what the last settle that freed much left, or the least seen since
	wait    int    // quiet intervals still to pass before a settle may run
	backoff int    // quiet intervals from one settle to the next
}

// due says whether a heap of total bytes should be settled now, after an
// interval in which the sockets moved the given bytes, and counts the
// tick.
func (j *janitorState) due(total, moved uint64) bool {
	if total < j.settled {
		j.settled = total
	}
	if moved > total/4 {
		return false // busy: the traffic may be what holds the heap
	}
	if j.wait > 0 {
		j.wait--
		return false
	}
	return total > janitorSlack && total > 2*j.settled
}

// settledAt records a settle that took the heap from before to after
// bytes.
func (j *janitorState) settledAt(before, after uint64) {
	if after > before/4*3 {
		j.backoff = min(2*j.backoff, janitorMaxBackoff) // the heap is live
	} else {
		j.backoff, j.settled = 1, after
	}
	j.wait = j.backoff - 1
}

// socketBytes returns the bytes the loops have read and written so far
// (a Stats snapshot every janitorInterval: cheap at that rate).
func (s *Server) socketBytes() uint64 {
	st := s.Stats()
	return uint64(st.BytesIn + st.BytesOut)
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
	moved := s.socketBytes()
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		objects, free := heapBytes(samples)
		now, busy := s.socketBytes(), uint64(0)
		if now > moved {
			busy = now - moved
		}
		moved = now
		if total := objects + free; j.due(total, busy) {
			debug.FreeOSMemory() // a GC, and the free pages back to the system
			debug.FreeOSMemory() // the pools' victims, freed by the first, go too
			after, _ := heapBytes(samples)
			j.settledAt(total, after)
		}
	}
}
