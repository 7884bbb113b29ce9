package server

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/comet-im/comet/broker"
)

// The node's interest in channels: which loops have local subscribers of
// each channel, and the node's one subscription to it at the engine. It
// turns the engine's publications into loop mailbox entries.
//
// Lock order: an engine's own locks (broker/memory delivers under its
// shard lock), then an interest shard, then a loop mailbox. The node never
// calls the engine while holding an interest shard.

const interestShards = 64

// interests maps channel names to the node's interest in them.
type interests struct {
	seed   maphash.Seed
	shards [interestShards]struct {
		mu sync.Mutex
		m  map[string]*interest
	}
}

// interest is the node's interest in one channel.
type interest struct {
	name string
	// mask has bit i set while loop i has a local subscriber; guarded by
	// the shard mutex.
	mask uint64
	// idleSince (Unix ms) is when mask last became 0; 0 while in use.
	idleSince int64
	// wait, made only when a join must wait while the engine subscription
	// is being made, is closed once it is active (or failed, with err
	// set); settled says it is. Joins wait for it before they read
	// history, so no publication falls between the history they read and
	// live delivery. Most channels (a personal channel: one join) never
	// need the channel, which would cost ~100 bytes each. Guarded by the
	// shard mutex, as err is until settled.
	wait    chan struct{}
	err     error
	settled bool
	// dead is set when the entry left the map (unsubscribed or failed); a
	// loop holding it keeps using it only to clear its bit.
	dead bool
}

func (in *interests) init() {
	in.seed = maphash.MakeSeed()
	for i := range in.shards {
		in.shards[i].m = make(map[string]*interest)
	}
}

func (in *interests) shard(name string) *struct {
	mu sync.Mutex
	m  map[string]*interest
} {
	return &in.shards[maphash.String(in.seed, name)%interestShards]
}

// add sets loop bit for channel name and returns its interest, and
// whether the caller created it and must therefore subscribe at the
// engine (then call settle). Any goroutine.
func (in *interests) add(name string, bit uint64) (it *interest, created bool) {
	sh := in.shard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it = sh.m[name]
	if it == nil {
		it = &interest{name: name}
		sh.m[name] = it
		created = true
	}
	it.mask |= bit
	it.idleSince = 0
	return it, created
}

// remove clears loop bit of it; the interest lingers until sweep.
func (in *interests) remove(it *interest, bit uint64, now int64) {
	sh := in.shard(it.name)
	sh.mu.Lock()
	it.mask &^= bit
	if it.mask == 0 {
		it.idleSince = now
	}
	sh.mu.Unlock()
}

// fail drops it after its engine subscription failed: the next join of
// the channel tries again with a fresh interest.
func (in *interests) fail(it *interest, err error) {
	sh := in.shard(it.name)
	sh.mu.Lock()
	if sh.m[it.name] == it {
		delete(sh.m, it.name)
	}
	it.dead = true
	in.settleLocked(it, err)
	sh.mu.Unlock()
}

// settle records that it's engine subscription is active (err nil) or
// failed, and wakes the joins waiting for it.
func (in *interests) settle(it *interest, err error) {
	sh := in.shard(it.name)
	sh.mu.Lock()
	in.settleLocked(it, err)
	sh.mu.Unlock()
}

func (in *interests) settleLocked(it *interest, err error) {
	it.err, it.settled = err, true
	if it.wait != nil {
		close(it.wait)
	}
}

// await waits until it is settled and returns its error, or ctx's.
func (in *interests) await(ctx context.Context, it *interest) error {
	sh := in.shard(it.name)
	sh.mu.Lock()
	if it.settled {
		err := it.err
		sh.mu.Unlock()
		return err
	}
	if it.wait == nil {
		it.wait = make(chan struct{})
	}
	wait := it.wait
	sh.mu.Unlock()
	select {
	case <-wait:
		sh.mu.Lock()
		err := it.err
		sh.mu.Unlock()
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mask returns the loops with local subscribers of channel name.
func (in *interests) mask(name string) uint64 {
	sh := in.shard(name)
	sh.mu.Lock()
	var m uint64
	if it := sh.m[name]; it != nil {
		m = it.mask
	}
	sh.mu.Unlock()
	return m
}

// sweep unsubscribes, at the engine, channels that have had no local
// subscriber since before cutoff (Unix ms). It runs on its own goroutine:
// engine calls may block.
func (in *interests) sweep(ctx context.Context, b broker.Broker, cutoff int64, scratch []*interest) []*interest {
	idle := scratch[:0]
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		for name, it := range sh.m {
			if it.mask != 0 || it.idleSince == 0 || it.idleSince > cutoff {
				continue
			}
			if !it.settled {
				continue // still subscribing
			}
			delete(sh.m, name)
			it.dead = true
			idle = append(idle, it)
		}
		sh.mu.Unlock()
	}
	for _, it := range idle {
		if it.err == nil {
			_ = b.Unsubscribe(ctx, it.name)
		}
	}
	clear(idle)
	return idle[:0]
}

// OnPublication hands a publication of a channel with local subscribers
// to each loop that has some (broker.Handler). Per channel the engine
// calls it in publish order, so every mailbox receives a channel's
// messages in seq order.
func (srv *Server) OnPublication(p *broker.Publication) {
	mask := srv.interest.mask(p.Channel)
	if mask == 0 {
		return
	}
	m := messageOf(p)
	loops := *srv.loops.Load()
	for i, l := range loops {
		if mask&(1<<i) != 0 {
			l.post(m, nil)
		}
	}
}
