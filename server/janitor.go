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
// minutes. So every janitorInterval the janitor looks at the heap; when it
// is past janitorSlack and more than twice what it was when last settled,
// it settles it: two GCs (the pools' victims go with the second) and the
// free pages back to the system. A node whose heap is large because it
// serves many clients is not touched again until its heap doubles.

const (
	janitorInterval = 10 * time.Second
	janitorSlack    = 64 << 20
)

// heapBytes returns the heap's live objects and its free, unreleased
// bytes.
func heapBytes(samples []metrics.Sample) (live, free uint64) {
	metrics.Read(samples)
	return samples[0].Value.Uint64(), samples[1].Value.Uint64()
}

// janitor runs until stop is closed.
func (s *Server) janitor(stop <-chan struct{}) {
	defer s.sweepDone.Done()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	live, _ := heapBytes(samples)
	settled := live
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		live, free := heapBytes(samples)
		switch total := live + free; {
		case total > janitorSlack && total > 2*settled:
			debug.FreeOSMemory() // a GC, and the free pages back to the system
			debug.FreeOSMemory() // the pools' victims, freed by the first, go too
			settled, _ = heapBytes(samples)
		case total < settled:
			settled = total
		}
	}
}
