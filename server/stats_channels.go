package server

// count returns how many channels have a local subscriber on some loop
// (active) and how many the node still holds at the engine with none
// (lingering, until the sweep). It walks every shard under its lock, so
// it costs in proportion to the channels: a Prometheus scrape every few
// seconds, not something to call per event. Any goroutine.
func (in *interests) count() (active, lingering int64) {
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		for _, it := range sh.m {
			if it.mask != 0 {
				active++
			} else {
				lingering++
			}
		}
		sh.mu.Unlock()
	}
	return active, lingering
}
