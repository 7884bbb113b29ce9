package server

import (
	"context"
	"hash/maphash"
	"strings"

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
	shards [interestShards]interestShard
}

// interest is the node's interest in one channel. It lives inside the
// local channel of the loop whose join made it (localChannel), so a
// channel with one loop's subscribers (a personal channel) is one record.
type interest struct {
	name string
	// mask has bit i set while loop i has a local subscriber; guarded by
	// the shard mutex.
	mask uint64
	// idleSince (Unix ms) is when mask last became 0; 0 while in use.
	idleSince int64
	// wait says where the engine subscription stands (guarded by the
	// shard mutex): nil while it is being made and no join waits for it,
	// settled once it is active or failed. Joins wait for it before they
	// read history, so no publication falls between the history they read
	// and live delivery.
	wait *interestWait
}

// interestWait is what joins wait on while the engine subscription of a
// channel is being made. Most channels (a personal channel: one join)
// never need one, which would cost a channel and its record per channel.
type interestWait struct {
	done    chan struct{} // closed once settled; nil when nobody waited
	err     error         // why the subscription failed; set before done closes
	settled bool
}

// subscribed is the state of every channel whose engine subscription is
// active: shared, never written.
var subscribed = &interestWait{settled: true}

// settled reports whether it's engine subscription is active or failed;
// the shard is locked.
func (it *interest) settled() bool { return it.wait != nil && it.wait.settled }

func (in *interests) init() {
	in.seed = maphash.MakeSeed()
	for i := range in.shards {
		in.shards[i].seed = in.seed
	}
}

// shard returns the shard of a name with hash h.
func (in *interests) shard(h uint64) *interestShard {
	return &in.shards[h%interestShards]
}

// add sets loop bit for channel name and returns the record that holds
// the node's interest, and whether the caller created it and must
// therefore subscribe at the engine (then call settle). A created record
// is the caller's loop's local channel. name may alias request bytes: it
// is copied when kept. Any goroutine.
func (in *interests) add(name string, bit uint64) (rec *localChannel, created bool) {
	h := maphash.String(in.seed, name)
	sh := in.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec = sh.find(name, h)
	if rec == nil {
		rec = &localChannel{interest: interest{name: strings.Clone(name)}}
		rec.it = &rec.interest
		sh.insert(rec, h)
		created = true
	}
	rec.mask |= bit
	rec.idleSince = 0
	return rec, created
}

// remove clears loop bit of it; the interest lingers until sweep.
func (in *interests) remove(it *interest, bit uint64, now int64) {
	sh := in.shard(maphash.String(in.seed, it.name))
	sh.mu.Lock()
	it.mask &^= bit
	if it.mask == 0 {
		it.idleSince = now
	}
	sh.mu.Unlock()
}

// fail drops it after its engine subscription failed: the next join of
// the channel tries again with a fresh interest. A loop holding it keeps
// using it only to clear its bit.
func (in *interests) fail(it *interest, err error) {
	h := maphash.String(in.seed, it.name)
	sh := in.shard(h)
	sh.mu.Lock()
	if p := sh.lookup(it.name, h); p >= 0 && &sh.m[p].interest == it {
		sh.removeAt(p)
	}
	settleLocked(it, err)
	sh.mu.Unlock()
}

// settle records that it's engine subscription is active (err nil) or
// failed, and wakes the joins waiting for it.
func (in *interests) settle(it *interest, err error) {
	sh := in.shard(maphash.String(in.seed, it.name))
	sh.mu.Lock()
	settleLocked(it, err)
	sh.mu.Unlock()
}

func settleLocked(it *interest, err error) {
	w := it.wait
	if w != nil {
		w.err, w.settled = err, true
		close(w.done)
	}
	switch {
	case err == nil:
		it.wait = subscribed
	case w == nil:
		it.wait = &interestWait{err: err, settled: true}
	}
}

// await waits until it is settled and returns its error, or ctx's.
func (in *interests) await(ctx context.Context, it *interest) error {
	sh := in.shard(maphash.String(in.seed, it.name))
	sh.mu.Lock()
	w := it.wait
	if w != nil && w.settled {
		sh.mu.Unlock()
		return w.err
	}
	if w == nil {
		w = &interestWait{done: make(chan struct{})}
		it.wait = w
	}
	sh.mu.Unlock()
	select {
	case <-w.done:
		return w.err // written before done closed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mask returns the loops with local subscribers of channel name.
func (in *interests) mask(name string) uint64 {
	h := maphash.String(in.seed, name)
	sh := in.shard(h)
	sh.mu.Lock()
	var m uint64
	if rec := sh.find(name, h); rec != nil {
		m = rec.mask
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
		// Backwards: removing one moves the last, already seen, into its place.
		for p := len(sh.m) - 1; p >= 0; p-- {
			it := &sh.m[p].interest
			if it.mask != 0 || it.idleSince == 0 || it.idleSince > cutoff {
				continue
			}
			if !it.settled() {
				continue // still subscribing
			}
			sh.removeAt(p)
			idle = append(idle, it)
		}
		sh.shrink()
		sh.mu.Unlock()
	}
	for _, it := range idle {
		if it.wait.err == nil {
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
