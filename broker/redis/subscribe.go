package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/comet-im/comet/broker"
)

// chanState is one channel the node is subscribed to.
//
// Ownership: name, tag, topic, slot and d are fixed at creation. refs and
// link are guarded by the table shard's mutex. dead and ready are shared.
// Everything under "delivery" belongs to the dispatcher d: only its
// goroutine reads or writes it.
type chanState struct {
	name  string
	tag   string // escaped name, the hash tag: what the slot comes from
	topic string
	slot  uint16
	d     *dispatcher

	refs int
	link *link

	// dead is set when the last Subscribe was withdrawn; the dispatcher
	// stops delivering.
	dead atomic.Bool
	// ready is closed when the subscription first becomes live: the
	// server confirmed it and its baseline position is known.
	ready chan struct{}

	// delivery, owned by d:
	mode     mode
	epoch    string
	seq      uint64                // the last seq delivered (or the baseline)
	buf      []*broker.Publication // live publications held while recovering
	overflow bool                  // buf overflowed: read history again
	inflight bool                  // a history read is under way
	again    bool                  // read once more when it returns
	isReady  bool                  // ready is closed
	retries  int                   // failed reads in a row
}

// mode is a channel's delivery mode.
type mode uint8

const (
	// modeBaseline: subscribed, waiting to learn the stream's position
	// at the time the subscription became active; live publications are
	// held.
	modeBaseline mode = iota
	// modeLive: publications are delivered as they arrive.
	modeLive
	// modeRecovering: reading history after the last delivered seq (a
	// lost link, or a gap); live publications are held.
	modeRecovering
)

const tableShards = 64

// table maps channel names to their state.
type table struct {
	seed   maphash.Seed
	shards [tableShards]tableShard
	n      atomic.Int64
}

type tableShard struct {
	mu sync.Mutex
	m  map[string]*chanState
}

func (t *table) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.shards {
		t.shards[i].m = make(map[string]*chanState)
	}
}

func (t *table) shard(name string) *tableShard {
	return &t.shards[maphash.String(t.seed, name)%tableShards]
}

// get returns the state of name, or nil.
func (t *table) get(name string) *chanState {
	sh := t.shard(name)
	sh.mu.Lock()
	st := sh.m[name]
	sh.mu.Unlock()
	return st
}

func (t *table) count() int { return int(t.n.Load()) }

// each calls f for every channel, its shard locked.
func (t *table) each(f func(st *chanState)) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, st := range sh.m {
			f(st)
		}
		sh.mu.Unlock()
	}
}

// Subscribe declares local interest in channel. The first Subscribe of a
// channel subscribes the node's pub/sub connection to its topic and
// returns once the server confirmed it and the stream's position at that
// moment is known, so every publication stored after it returns is
// delivered. A Subscribe that fails holds no reference.
func (b *Broker) Subscribe(ctx context.Context, channel string) error {
	if b.closed.Load() {
		return b.errClosed("subscribe")
	}
	if !b.started.Load() {
		return errors.New("redis: subscribe before start")
	}
	if channel == "" {
		return errEmptyChannel
	}
	sh := b.table.shard(channel)
	sh.mu.Lock()
	st := sh.m[channel]
	if st == nil {
		st = b.newChanState(channel)
		sh.m[st.name] = st
		b.table.n.Add(1)
		b.links.assign(st)
	}
	st.refs++
	ready := st.ready
	sh.mu.Unlock()

	select {
	case <-ready:
		return nil
	default:
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	select {
	case <-ready:
		return nil
	case <-b.done:
		return b.errClosed("subscribe")
	case <-ctx.Done():
		b.Unsubscribe(context.Background(), st.name)
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("redis: subscribe %q: %w", channel, ctx.Err())
		}
		return fmt.Errorf("redis: subscribe %q: %w: not active within %v", channel, broker.ErrUnavailable, b.cfg.Timeout)
	}
}

func (b *Broker) newChanState(channel string) *chanState {
	topic, tag := b.topicOf(channel)
	st := &chanState{
		name:  string([]byte(channel)), // channel may alias the caller's memory
		tag:   tag,
		topic: topic,
		slot:  slotOf(tag),
		ready: make(chan struct{}),
	}
	st.d = b.disp[maphash.String(b.table.seed, st.name)%uint64(len(b.disp))]
	return st
}

// Unsubscribe withdraws one Subscribe of channel; the last one
// unsubscribes the node's pub/sub connection. An Unsubscribe without a
// Subscribe does nothing.
func (b *Broker) Unsubscribe(_ context.Context, channel string) error {
	if b.closed.Load() {
		return b.errClosed("unsubscribe")
	}
	sh := b.table.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[channel]
	if st == nil {
		return nil
	}
	if st.refs--; st.refs > 0 {
		return nil
	}
	delete(sh.m, channel)
	b.table.n.Add(-1)
	st.dead.Store(true)
	b.links.unassign(st)
	return nil
}
