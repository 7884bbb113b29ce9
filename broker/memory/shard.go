package memory

import (
	"sync"
	"sync/atomic"

	"github.com/comet-im/comet/broker"
)

// channel is one channel with a stream. Guarded by its shard's mutex.
type channel struct {
	name       string
	epoch      string
	created    int64 // Unix ms: when the epoch began
	seq        uint64
	hist       history
	ttl        int64 // Unix ms: history TTL of the latest publish
	lastActive int64 // Unix ms: the latest publish, or the last subscriber leaving
	dead       bool  // swept: entries of the eviction queue naming it are stale
}

// queued is one message in its shard's eviction queue.
type queued struct {
	ch *channel
	p  *broker.Publication
}

// idemKey names an idempotency key of a channel.
type idemKey struct{ channel, key string }

type idemRecord struct {
	pos     broker.Position
	expires int64 // Unix ms
}

// shard holds a 64th of the channels, and everything that spans them.
type shard struct {
	mu       sync.Mutex
	channels map[string]*channel
	interest interestCounts // Subscribe counts, channels with a stream or not

	// bytes is what the shard's histories hold. The eviction queue lists
	// their messages in publish order, so its head is the shard's oldest:
	// the node-wide cap evicts it first. Entries whose message already
	// left its history (count, age or per-channel caps) are stale and
	// skipped; compact drops them in bulk.
	bytes int64
	kept  int // messages the shard's histories hold
	fifo  []queued
	head  int

	idem      map[idemKey]idemRecord
	idemOrder []idemKey // insertion order, for expiry and the key cap
	idemHead  int
}

func (sh *shard) init() {
	sh.channels = make(map[string]*channel)
	sh.idem = make(map[idemKey]idemRecord)
}

// mark returns what ch's history holds, for settle after a change.
func (sh *shard) mark(ch *channel) (bytes, n int) { return ch.hist.bytes, ch.hist.n }

// settle accounts a change of ch's history since mark.
func (sh *shard) settle(ch *channel, bytes, n int) {
	sh.bytes += int64(ch.hist.bytes - bytes)
	sh.kept += ch.hist.n - n
}

// queue records that p entered ch's history. The queue keeps entries of
// messages that left their history some other way (count, age, the
// channel's cap) until they reach its head; once stale entries outnumber
// the live ones it is compacted, so it holds at most about twice what
// history holds, and never keeps a dropped message alive for long.
func (sh *shard) queue(ch *channel, p *broker.Publication) {
	sh.fifo = append(sh.fifo, queued{ch, p})
	if len(sh.fifo)-sh.head > 2*sh.kept+8 {
		sh.compact()
	}
}

// live reports whether a queue entry's message is still in its history.
func (q queued) live() bool {
	if q.ch.dead {
		return false
	}
	oldest := q.ch.hist.oldestSeq()
	if oldest == 0 || q.p.Seq < oldest || q.p.Seq-oldest >= uint64(q.ch.hist.n) {
		return false
	}
	return q.ch.hist.at(int(q.p.Seq-oldest)) == q.p
}

// evict removes the shard's oldest messages until it holds at most max
// bytes. A removed message is always its channel's oldest.
func (sh *shard) evict(max int64, evicted *atomic.Int64) {
	for sh.bytes > max && sh.head < len(sh.fifo) {
		q := sh.fifo[sh.head]
		sh.fifo[sh.head] = queued{}
		sh.head++
		if !q.live() {
			continue
		}
		// Everything older in q's channel left before q (it entered the
		// queue earlier), so q is the oldest there.
		b, n := sh.mark(q.ch)
		q.ch.hist.pop()
		sh.settle(q.ch, b, n)
		evicted.Add(1)
	}
	if sh.head == len(sh.fifo) {
		sh.fifo, sh.head = sh.fifo[:0], 0
	}
}

// compact drops stale entries, so the queue stays proportional to what
// history holds.
func (sh *shard) compact() {
	kept := sh.fifo[:0]
	for _, q := range sh.fifo[sh.head:] {
		if q.p != nil && q.live() {
			kept = append(kept, q)
		}
	}
	clear(sh.fifo[len(kept):])
	sh.fifo, sh.head = kept, 0
}

// idempotent returns the position remembered for (channel, key).
func (sh *shard) idempotent(name, key string, now int64) (broker.Position, bool) {
	r, ok := sh.idem[idemKey{name, key}]
	if !ok || r.expires < now {
		return broker.Position{}, false
	}
	return r.pos, true
}

// remember stores pos for (channel, key) until expires, forgetting the
// oldest keys past max.
func (sh *shard) remember(name, key string, pos broker.Position, expires int64, max int, keys *atomic.Int64) {
	k := idemKey{string([]byte(name)), string([]byte(key))}
	if _, ok := sh.idem[k]; !ok {
		sh.idemOrder = append(sh.idemOrder, k)
		keys.Add(1)
	}
	sh.idem[k] = idemRecord{pos, expires}
	for len(sh.idemOrder)-sh.idemHead > max {
		sh.forgetOldestKey(keys)
	}
}

func (sh *shard) forgetOldestKey(keys *atomic.Int64) {
	k := sh.idemOrder[sh.idemHead]
	sh.idemOrder[sh.idemHead] = idemKey{}
	sh.idemHead++
	delete(sh.idem, k)
	keys.Add(-1)
	if sh.idemHead > 1024 && sh.idemHead > len(sh.idemOrder)/2 {
		sh.idemOrder = append(sh.idemOrder[:0], sh.idemOrder[sh.idemHead:]...)
		sh.idemHead = 0
	}
}
