package bench

// Tracker accounts for the messages one subscriber received on one channel,
// keyed by the publisher's 0-based index (or a server's sequence number): it
// counts unique deliveries, duplicates and deliveries that arrived after a
// higher index. Loss is computed against the set the caller says was
// published. A Tracker belongs to one goroutine.
type Tracker struct {
	seen       []uint64 // bitset of observed keys
	unique     int64
	dups       int64
	reordered  int64
	last       int64
	any        bool
	outOfRange int64
}

// maxTrackedKey bounds the bitset (16 Mi keys = 2 MiB) so a corrupt or
// hostile key cannot make the harness allocate without limit.
const maxTrackedKey = 1 << 24

// Observe records one delivery of key and reports whether it was a duplicate.
func (t *Tracker) Observe(key int64) (dup bool) {
	if key < 0 || key >= maxTrackedKey {
		t.outOfRange++
		return false
	}
	w, bit := int(key/64), uint64(1)<<(key%64)
	if w >= len(t.seen) {
		n := max(2*len(t.seen), w+1)
		grown := make([]uint64, n)
		copy(grown, t.seen)
		t.seen = grown
	}
	if t.any && key < t.last {
		t.reordered++
	}
	if key > t.last || !t.any {
		t.last, t.any = key, true
	}
	if t.seen[w]&bit != 0 {
		t.dups++
		return true
	}
	t.seen[w] |= bit
	t.unique++
	return false
}

// Has reports whether key has been observed.
func (t *Tracker) Has(key int64) bool {
	if key < 0 || key/64 >= int64(len(t.seen)) {
		return false
	}
	return t.seen[key/64]&(uint64(1)<<(key%64)) != 0
}

// Unique is the number of distinct keys observed.
func (t *Tracker) Unique() int64 { return t.unique }

// Dups is the number of deliveries of an already observed key.
func (t *Tracker) Dups() int64 { return t.dups }

// Reordered is the number of deliveries whose key was below the highest key
// seen before them.
func (t *Tracker) Reordered() int64 { return t.reordered }

// Invalid is the number of keys outside [0, 2^24) that were ignored.
func (t *Tracker) Invalid() int64 { return t.outOfRange }

// Lost is the number of keys in [lo, hi) that were never observed.
func (t *Tracker) Lost(lo, hi int64) int64 {
	var lost int64
	for k := max(lo, 0); k < hi; k++ {
		if !t.Has(k) {
			lost++
		}
	}
	return lost
}

// Missing appends to dst the keys in [lo, hi) never observed, stopping at
// limit keys; it names the lost messages in reports.
func (t *Tracker) Missing(dst []int64, lo, hi int64, limit int) []int64 {
	for k := max(lo, 0); k < hi && len(dst) < limit; k++ {
		if !t.Has(k) {
			dst = append(dst, k)
		}
	}
	return dst
}

// SeqGaps walks a server sequence stream (as Comet's per-channel seq, which
// increases by one per publish) and counts the missing numbers between
// consecutive deliveries and the deliveries that repeat or go back. It is the
// on-line counterpart of Tracker for streams whose range is not known up
// front.
type SeqGaps struct {
	last    int64
	Missing int64 // numbers skipped between consecutive deliveries
	Repeats int64 // deliveries with seq <= the previous one
}

// Observe records one delivered sequence number.
func (g *SeqGaps) Observe(seq int64) {
	switch {
	case g.last == 0:
	case seq <= g.last:
		g.Repeats++
		return
	case seq > g.last+1:
		g.Missing += seq - g.last - 1
	}
	g.last = seq
}

// From sets the sequence number a subscription started at (the "seq" in
// Comet's subscribe reply), so that a gap before the first delivery counts.
func (g *SeqGaps) From(seq int64) { g.last = seq }
