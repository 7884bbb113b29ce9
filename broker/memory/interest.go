package memory

// interestCounts counts a shard's Subscribe calls per channel, keyed by a
// 64-bit hash of the channel's name rather than the name: an idle
// personal channel costs a 12-byte slot at three-quarters load at most,
// where a map of names cost a copy of the name, a 24-byte slot and the
// tables it left behind growing (about 100 bytes a channel, most of
// what the engine spent on a subscribed channel nobody publishes to).
//
// Two names with one hash share a count. The count of a hash is then the
// sum of its names' counts, never less than any of them, so every
// publication of a subscribed channel is still delivered; a channel that
// merely shares the hash of a subscribed one is delivered too, which the
// Handler drops (it has no subscriber of it). With the seed random per
// process, two of a million names share a hash about once in 3×10⁷
// processes.
type interestCounts struct {
	keys []uint64 // the hash (1 for a hash of 0); 0 is an empty slot
	n    []int32
	used int
}

// key is h as the table stores it: 0 marks an empty slot.
func countKey(h uint64) uint64 { return max(h, 1) }

// The shard of a hash is its low 6 bits: slots are placed by the bits
// above them.
func countHome(k uint64, mask int) int { return int(k>>6) & mask }

// slot returns k's slot, or the empty slot where it would go.
func (c *interestCounts) slot(k uint64) int {
	mask := len(c.keys) - 1
	i := countHome(k, mask)
	for c.keys[i] != 0 && c.keys[i] != k {
		i = (i + 1) & mask
	}
	return i
}

// get returns the count of hash h.
func (c *interestCounts) get(h uint64) int32 {
	if c.used == 0 {
		return 0
	}
	return c.n[c.slot(countKey(h))]
}

// inc adds one to the count of hash h.
func (c *interestCounts) inc(h uint64) {
	if 4*(c.used+1) > 3*len(c.keys) {
		c.resize(max(8, 2*len(c.keys)))
	}
	k := countKey(h)
	i := c.slot(k)
	if c.keys[i] == 0 {
		c.keys[i] = k
		c.used++
	}
	c.n[i]++
}

// dec takes one from the count of hash h, dropping it at 0, and returns
// what is left.
func (c *interestCounts) dec(h uint64) int32 {
	if c.used == 0 {
		return 0
	}
	k := countKey(h)
	i := c.slot(k)
	if c.keys[i] == 0 {
		return 0
	}
	if c.n[i] > 1 {
		c.n[i]--
		return c.n[i]
	}
	c.removeAt(i)
	switch {
	case c.used == 0:
		c.keys, c.n = nil, nil
	case len(c.keys) > 64 && 8*c.used < len(c.keys):
		c.resize(len(c.keys) / 4) // a crowd left: give the slots back
	}
	return 0
}

// removeAt empties slot i by backward shift: the entries after it that
// may move into the hole do, so probes never cross a tombstone.
func (c *interestCounts) removeAt(i int) {
	mask := len(c.keys) - 1
	for j := (i + 1) & mask; c.keys[j] != 0; j = (j + 1) & mask {
		home := countHome(c.keys[j], mask)
		// j's entry stays unless its home lies cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			c.keys[i], c.n[i] = c.keys[j], c.n[j]
			i = j
		}
	}
	c.keys[i], c.n[i] = 0, 0
	c.used--
}

// resize moves the counts to a table of size slots (a power of two).
func (c *interestCounts) resize(size int) {
	keys, n := c.keys, c.n
	c.keys, c.n = make([]uint64, size), make([]int32, size)
	for i, k := range keys {
		if k != 0 {
			j := c.slot(k)
			c.keys[j], c.n[j] = k, n[i]
		}
	}
}
