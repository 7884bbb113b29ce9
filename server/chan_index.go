package server

import (
	"hash/maphash"
	"sync"
)

// interestShard is a 64th of the node's channels, under its lock.
type interestShard struct {
	mu sync.Mutex
	chanIndex
}

// chanIndex is a set of channel records by name: the records in a dense
// slice (m, which walks range over) and an open-addressing index over it.
// A Go map of names to pointers cost ~42 bytes a channel, and as much
// again in the tables it left behind while it grew; the index costs a
// 4-byte slot at three-quarters load at most, and the slice one pointer.
type chanIndex struct {
	m []*localChannel
	// idx holds, for each channel, tag<<24 | (its position in m + 1),
	// placed by linear probing from its name's hash; 0 is an empty slot.
	// The tag (8 bits of the hash) skips most other names without
	// reading them. Its length is 0 or a power of two.
	idx  []uint32
	seed maphash.Seed
}

const (
	idxPosBits = 24
	idxPosMask = 1<<idxPosBits - 1
	// maxIndexChannels bounds the positions a slot holds (16.7 M an
	// index, a billion a node): far past the descriptors a process has.
	maxIndexChannels = idxPosMask - 1
)

// The interest shard of a name is its hash's low bits (interests.shard);
// the index probes from the bits above them, and the tag is the top byte.
func idxHome(h uint64, mask int) int { return int(h>>6) & mask }
func idxTag(h uint64) uint32         { return uint32(h>>56) << idxPosBits }

// find returns the record of channel name (hash h), or nil.
func (x *chanIndex) find(name string, h uint64) *localChannel {
	if p := x.lookup(name, h); p >= 0 {
		return x.m[p]
	}
	return nil
}

// lookup returns the position in m of channel name (hash h), or -1.
func (x *chanIndex) lookup(name string, h uint64) int {
	if len(x.idx) == 0 {
		return -1
	}
	mask := len(x.idx) - 1
	tag := idxTag(h)
	for i := idxHome(h, mask); ; i = (i + 1) & mask {
		v := x.idx[i]
		if v == 0 {
			return -1
		}
		if p := int(v&idxPosMask) - 1; v&^idxPosMask == tag && x.m[p].name == name {
			return p
		}
	}
}

// insert adds lc, whose name (hash h) the index does not hold.
func (x *chanIndex) insert(lc *localChannel, h uint64) {
	if len(x.m) >= maxIndexChannels {
		panic("server: channel index full")
	}
	if 4*(len(x.m)+1) > 3*len(x.idx) {
		x.rebuild(max(8, 2*len(x.idx)))
	}
	x.m = append(x.m, lc)
	x.place(h, len(x.m)-1)
}

// place puts the slot of position p (hash h) in the index.
func (x *chanIndex) place(h uint64, p int) {
	mask := len(x.idx) - 1
	i := idxHome(h, mask)
	for x.idx[i] != 0 {
		i = (i + 1) & mask
	}
	x.idx[i] = idxTag(h) | uint32(p+1)
}

// slotOf returns the index slot of position p, whose record is in m.
func (x *chanIndex) slotOf(p int) int {
	h := maphash.String(x.seed, x.m[p].name)
	mask := len(x.idx) - 1
	want := idxTag(h) | uint32(p+1)
	i := idxHome(h, mask)
	for x.idx[i] != want {
		i = (i + 1) & mask
	}
	return i
}

// removeAt removes the record at position p of m: its slot, by backward
// shift (no tombstones, so probes stay short), and its place in m, by
// moving the last record into it.
func (x *chanIndex) removeAt(p int) {
	mask := len(x.idx) - 1
	i := x.slotOf(p)
	for j := (i + 1) & mask; x.idx[j] != 0; j = (j + 1) & mask {
		v := x.idx[j]
		home := idxHome(maphash.String(x.seed, x.m[v&idxPosMask-1].name), mask)
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			x.idx[i] = v
			i = j
		}
	}
	x.idx[i] = 0
	last := len(x.m) - 1
	if p != last {
		s := x.slotOf(last)
		x.idx[s] = x.idx[s]&^idxPosMask | uint32(p+1)
		x.m[p] = x.m[last]
	}
	x.m[last] = nil
	x.m = x.m[:last]
}

// shrink gives back the memory of an index that emptied (a sweep after a
// crowd left): a map never shrinks, this does once it is a quarter full.
func (x *chanIndex) shrink() {
	if cap(x.m) <= 64 || 4*len(x.m) > cap(x.m) {
		return
	}
	x.m = append([]*localChannel(nil), x.m...)
	n := 8
	for 4*len(x.m) > 3*n {
		n *= 2
	}
	x.rebuild(n)
}

// rebuild makes an index of n slots over m.
func (x *chanIndex) rebuild(n int) {
	x.idx = make([]uint32, n)
	for p, lc := range x.m {
		x.place(maphash.String(x.seed, lc.name), p)
	}
}
