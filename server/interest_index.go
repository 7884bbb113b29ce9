package server

import (
	"hash/maphash"
	"sync"
)

// interestShard is a 64th of the node's channels: the records in a dense
// slice (m, which count and sweep walk) and an open-addressing index over
// it. A Go map of names to pointers cost ~42 bytes a channel, and as much
// again in the tables it left behind while it grew; the index costs a
// 4-byte slot at three-quarters load at most, and the slice one pointer.
type interestShard struct {
	mu sync.Mutex
	m  []*localChannel
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
	// maxShardChannels bounds the positions a slot holds (16.7 M a shard,
	// a billion a node): far past the descriptors a process has.
	maxShardChannels = idxPosMask - 1
)

// The shard of a name is its hash's low bits (interests.shard); the index
// probes from the bits above them, and the tag is the top byte.
func idxHome(h uint64, mask int) int { return int(h>>6) & mask }
func idxTag(h uint64) uint32         { return uint32(h>>56) << idxPosBits }

// find returns the record of channel name (hash h), or nil.
func (sh *interestShard) find(name string, h uint64) *localChannel {
	if p := sh.lookup(name, h); p >= 0 {
		return sh.m[p]
	}
	return nil
}

// lookup returns the position in m of channel name (hash h), or -1.
func (sh *interestShard) lookup(name string, h uint64) int {
	if len(sh.idx) == 0 {
		return -1
	}
	mask := len(sh.idx) - 1
	tag := idxTag(h)
	for i := idxHome(h, mask); ; i = (i + 1) & mask {
		v := sh.idx[i]
		if v == 0 {
			return -1
		}
		if p := int(v&idxPosMask) - 1; v&^idxPosMask == tag && sh.m[p].name == name {
			return p
		}
	}
}

// insert adds lc, whose name (hash h) the shard does not hold.
func (sh *interestShard) insert(lc *localChannel, h uint64) {
	if len(sh.m) >= maxShardChannels {
		panic("server: interest shard full")
	}
	if 4*(len(sh.m)+1) > 3*len(sh.idx) {
		sh.rebuild(max(8, 2*len(sh.idx)))
	}
	sh.m = append(sh.m, lc)
	sh.place(h, len(sh.m)-1)
}

// place puts the slot of position p (hash h) in the index.
func (sh *interestShard) place(h uint64, p int) {
	mask := len(sh.idx) - 1
	i := idxHome(h, mask)
	for sh.idx[i] != 0 {
		i = (i + 1) & mask
	}
	sh.idx[i] = idxTag(h) | uint32(p+1)
}

// slotOf returns the index slot of position p, whose record is in m.
func (sh *interestShard) slotOf(p int) int {
	h := maphash.String(sh.seed, sh.m[p].name)
	mask := len(sh.idx) - 1
	want := idxTag(h) | uint32(p+1)
	i := idxHome(h, mask)
	for sh.idx[i] != want {
		i = (i + 1) & mask
	}
	return i
}

// removeAt removes the record at position p of m: its slot, by backward
// shift (no tombstones, so probes stay short), and its place in m, by
// moving the last record into it.
func (sh *interestShard) removeAt(p int) {
	mask := len(sh.idx) - 1
	i := sh.slotOf(p)
	for j := (i + 1) & mask; sh.idx[j] != 0; j = (j + 1) & mask {
		v := sh.idx[j]
		home := idxHome(maphash.String(sh.seed, sh.m[v&idxPosMask-1].name), mask)
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			sh.idx[i] = v
			i = j
		}
	}
	sh.idx[i] = 0
	last := len(sh.m) - 1
	if p != last {
		s := sh.slotOf(last)
		sh.idx[s] = sh.idx[s]&^idxPosMask | uint32(p+1)
		sh.m[p] = sh.m[last]
	}
	sh.m[last] = nil
	sh.m = sh.m[:last]
}

// shrink gives back the memory of a shard that emptied (a sweep after a
// crowd left): a map never shrinks, this does once it is a quarter full.
func (sh *interestShard) shrink() {
	if cap(sh.m) <= 64 || 4*len(sh.m) > cap(sh.m) {
		return
	}
	sh.m = append([]*localChannel(nil), sh.m...)
	n := 8
	for 4*len(sh.m) > 3*n {
		n *= 2
	}
	sh.rebuild(n)
}

// rebuild makes an index of n slots over m.
func (sh *interestShard) rebuild(n int) {
	sh.idx = make([]uint32, n)
	for p, lc := range sh.m {
		sh.place(maphash.String(sh.seed, lc.name), p)
	}
}
