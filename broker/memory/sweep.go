package memory

import (
	"hash/maphash"
	"time"
)

// sweepLoop sweeps one shard per SweepInterval until Close: a pass over a
// million channels at once would hold shard locks long enough for
// publishers to notice.
func (b *Broker) sweepLoop() {
	defer b.sweeper.Done()
	t := time.NewTicker(b.cfg.SweepInterval)
	defer t.Stop()
	for i := 0; ; i = (i + 1) % shardCount {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.sweepShard(i)
		}
	}
}

// Sweep sweeps every shard now. The sweeper does it gradually on its
// own; tests that move the clock call it to see the effect at once.
func (b *Broker) Sweep() {
	for i := range b.shards {
		b.sweepShard(i)
	}
}

// sweepShard expires history and drops idle channels of shard i: no
// subscriber, nothing in history, and no activity for HistoryTTL.
func (b *Broker) sweepShard(i int) {
	sh := &b.shards[i]
	now := b.nowMillis()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	minIdle := b.cfg.HistoryTTL.Milliseconds()
	for name, ch := range sh.channels {
		bytes, n := sh.mark(ch)
		ch.hist.expire(now - ch.ttl)
		sh.settle(ch, bytes, n)
		// An idle channel keeps its epoch at least HistoryTTL, even when
		// its namespace keeps messages for less: the recovery rule relies
		// on it (protocol.Recover).
		if ch.hist.n == 0 && ch.lastActive < now-max(ch.ttl, minIdle) && sh.interest.get(maphash.String(b.seed, name)) == 0 {
			ch.dead = true
			delete(sh.channels, name)
			b.channels.Add(-1)
		}
	}
	for sh.idemHead < len(sh.idemOrder) {
		k := sh.idemOrder[sh.idemHead]
		if r, ok := sh.idem[k]; ok && r.expires >= now {
			break
		}
		sh.forgetOldestKey(&b.keys)
	}
	if sh.head > 0 {
		sh.compact()
	}
}
