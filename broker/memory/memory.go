package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/broker"
)

// Config configures the engine. The zero value of every field means its
// documented default.
type Config struct {
	// HistorySize is how many messages a channel keeps for recovery;
	// default 100. Negative keeps none.
	HistorySize int
	// HistoryTTL is how long a message stays in history, and how long an
	// idle channel keeps its epoch and seq; default 5 minutes.
	HistoryTTL time.Duration
	// MaxChannelHistoryBytes caps one channel's history; default 1 MiB.
	MaxChannelHistoryBytes int
	// MaxHistoryBytes caps the history of all channels together; default
	// 256 MiB. Past it the oldest messages of the node are evicted first.
	MaxHistoryBytes int64
	// MaxChannels caps the channels that have a stream; default 1,000,000.
	// Publishing to a new channel past it fails with
	// broker.ErrTooManyChannels.
	MaxChannels int
	// IdempotencyWindow is how long a publish's idempotency key is
	// remembered; default 2 minutes.
	IdempotencyWindow time.Duration
	// MaxIdempotencyKeys caps the keys remembered; default 1,000,000. The
	// oldest are forgotten first.
	MaxIdempotencyKeys int
	// SweepInterval is how often one of the 64 shards is swept for
	// expired messages and idle channels; default 100 ms (a full pass in
	// 6.4 s).
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now. It must be the server's own
	// wall clock: the server builds empty epochs (".T") from its clock and
	// protocol.Recover compares them with the streams' Created times from
	// this one. Tests move it by hand.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.HistorySize == 0 {
		c.HistorySize = 100
	}
	if c.HistoryTTL == 0 {
		c.HistoryTTL = 5 * time.Minute
	}
	if c.MaxChannelHistoryBytes == 0 {
		c.MaxChannelHistoryBytes = 1 << 20
	}
	if c.MaxHistoryBytes == 0 {
		c.MaxHistoryBytes = 256 << 20
	}
	if c.MaxChannels == 0 {
		c.MaxChannels = 1_000_000
	}
	if c.IdempotencyWindow == 0 {
		c.IdempotencyWindow = 2 * time.Minute
	}
	if c.MaxIdempotencyKeys == 0 {
		c.MaxIdempotencyKeys = 1_000_000
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 100 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.HistoryTTL < 0 || c.IdempotencyWindow < 0 || c.SweepInterval < 0 {
		errs = append(errs, errors.New("memory: durations must not be negative"))
	}
	if c.MaxChannelHistoryBytes < 0 || c.MaxHistoryBytes < 0 || c.MaxChannels < 0 || c.MaxIdempotencyKeys < 0 {
		errs = append(errs, errors.New("memory: limits must not be negative"))
	}
	return errors.Join(errs...)
}

const shardCount = 64

// Broker is the in-process engine.
type Broker struct {
	cfg     Config
	seed    maphash.Seed
	boot    string // part of every epoch: epochs differ across restarts
	created atomic.Uint64
	shards  [shardCount]shard

	handler  atomic.Pointer[handlerBox]
	channels atomic.Int64 // channels with a stream
	keys     atomic.Int64 // idempotency keys remembered
	evicted  atomic.Int64 // messages evicted by the node-wide byte cap

	stop      chan struct{}
	sweeper   sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
}

type handlerBox struct{ h broker.Handler }

// New returns an engine; Start begins its delivery and sweeping.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Broker{cfg: cfg, seed: maphash.MakeSeed(), stop: make(chan struct{})}
	b.boot = strconv.FormatInt(cfg.Now().UnixNano(), 36)
	for i := range b.shards {
		b.shards[i].init()
	}
	return b, nil
}

// Inline marks the engine as one that never blocks (broker.Inline).
func (b *Broker) Inline() {}

// Start makes b deliver publications to h and starts the sweeper.
func (b *Broker) Start(h broker.Handler) error {
	if !b.handler.CompareAndSwap(nil, &handlerBox{h}) {
		return errors.New("memory: already started")
	}
	b.sweeper.Add(1)
	go b.sweepLoop()
	return nil
}

// Close stops the sweeper. Publications are no longer delivered.
func (b *Broker) Close(context.Context) error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.handler.Store(&handlerBox{})
	})
	b.sweeper.Wait()
	return nil
}

// shardOf returns the shard of channel name, and the name's hash, which
// also keys its Subscribe count there.
func (b *Broker) shardOf(name string) (*shard, uint64) {
	h := maphash.String(b.seed, name)
	return &b.shards[h%shardCount], h
}

func (b *Broker) nowMillis() int64 { return b.cfg.Now().UnixMilli() }

// Publish stores data as the next publication of channel and delivers it.
// It takes ownership of data: the caller must not change it afterwards.
func (b *Broker) Publish(_ context.Context, name string, data []byte, opts broker.PublishOptions) (broker.Position, error) {
	if b.closed.Load() {
		return broker.Position{}, broker.ErrClosed
	}
	sh, h := b.shardOf(name)
	now := b.nowMillis()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ch := sh.channels[name]
	subscribed := sh.interest.get(h) > 0
	if opts.At != nil {
		if subscribed {
			b.deliver(&broker.Publication{Channel: string([]byte(name)), Epoch: opts.At.Epoch, Seq: opts.At.Seq,
				Time: cmp.Or(opts.Time, now), Data: data, Publisher: opts.Publisher, Conversation: opts.Conversation})
		}
		return *opts.At, nil
	}
	if opts.Ephemeral {
		p := &broker.Publication{Channel: name, Time: now, Data: data, Publisher: opts.Publisher, Conversation: opts.Conversation}
		if ch != nil {
			p.Channel, p.Epoch = ch.name, ch.epoch
		} else {
			p.Channel = string([]byte(name)) // name may alias the caller's buffer
		}
		if subscribed {
			b.deliver(p)
		}
		return broker.Position{}, nil
	}
	if opts.IdempotencyKey != "" {
		if pos, ok := sh.idempotent(name, opts.IdempotencyKey, now); ok {
			return pos, nil
		}
	}
	if ch == nil {
		if b.channels.Load() >= int64(b.cfg.MaxChannels) {
			return broker.Position{}, fmt.Errorf("memory: %w", broker.ErrTooManyChannels)
		}
		ch = b.newChannel(sh, name, now)
	}
	size, ttl := b.cfg.HistorySize, b.cfg.HistoryTTL
	if opts.HistorySize != 0 {
		size = opts.HistorySize
	}
	if opts.HistoryTTL > 0 {
		ttl = opts.HistoryTTL
	}
	ch.ttl = ttl.Milliseconds()
	ch.seq++
	ch.lastActive = now
	p := &broker.Publication{Channel: ch.name, Epoch: ch.epoch, Seq: ch.seq, Time: now, Data: data,
		Publisher: opts.Publisher, Conversation: opts.Conversation}
	if size > 0 {
		bytes, n := sh.mark(ch)
		ch.hist.expire(now - ch.ttl)
		ch.hist.push(p, size)
		ch.hist.trimBytes(b.cfg.MaxChannelHistoryBytes)
		sh.settle(ch, bytes, n)
		sh.queue(ch, p)
		sh.evict(b.cfg.MaxHistoryBytes/shardCount, &b.evicted)
	} else if ch.hist.n > 0 { // the channel's history was just turned off
		bytes, n := sh.mark(ch)
		ch.hist = history{}
		sh.settle(ch, bytes, n)
	}
	pos := broker.Position{Epoch: ch.epoch, Seq: ch.seq}
	if opts.IdempotencyKey != "" {
		sh.remember(name, opts.IdempotencyKey, pos, now+b.cfg.IdempotencyWindow.Milliseconds(),
			b.cfg.MaxIdempotencyKeys/shardCount+1, &b.keys)
	}
	if subscribed {
		b.deliver(p)
	}
	return pos, nil
}

// deliver hands p to the handler; the shard is locked, which orders a
// channel's publications.
func (b *Broker) deliver(p *broker.Publication) {
	if box := b.handler.Load(); box != nil && box.h != nil {
		box.h.OnPublication(p)
	}
}

// newChannel creates channel name in sh, locked.
func (b *Broker) newChannel(sh *shard, name string, now int64) *channel {
	n := b.created.Add(1)
	ch := &channel{
		name:       string([]byte(name)), // name may alias the caller's buffer
		epoch:      b.boot + "." + strconv.FormatUint(n, 36),
		created:    now,
		lastActive: now,
	}
	sh.channels[ch.name] = ch
	b.channels.Add(1)
	return ch
}

// History reads channel's publications after opts.After and its state.
func (b *Broker) History(_ context.Context, name string, opts broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	if b.closed.Load() {
		return dst, broker.StreamState{}, broker.ErrClosed
	}
	sh, _ := b.shardOf(name)
	now := b.nowMillis()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ch := sh.channels[name]
	if ch == nil {
		return dst, broker.StreamState{}, nil
	}
	bytes, n := sh.mark(ch)
	ch.hist.expire(now - ch.ttl)
	sh.settle(ch, bytes, n)
	st := broker.StreamState{Epoch: ch.epoch, Top: ch.seq, Oldest: ch.hist.oldestSeq(), Created: ch.created}
	return ch.hist.appendAfter(dst, opts.After, opts.Limit), st, nil
}

// Subscribe counts one more local interest in channel name.
func (b *Broker) Subscribe(_ context.Context, name string) error {
	if b.closed.Load() {
		return broker.ErrClosed
	}
	sh, h := b.shardOf(name)
	sh.mu.Lock()
	sh.interest.inc(h)
	sh.mu.Unlock()
	return nil
}

// Unsubscribe withdraws one Subscribe of channel name.
func (b *Broker) Unsubscribe(_ context.Context, name string) error {
	sh, h := b.shardOf(name)
	now := b.nowMillis()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.interest.dec(h) == 0 {
		if ch := sh.channels[name]; ch != nil {
			// A subscriber's position stays valid for HistoryTTL after it
			// leaves, as after a publish: a poller comes back.
			ch.lastActive = now
		}
	}
	return nil
}

// Stats is a snapshot of the engine's gauges and counters.
type Stats struct {
	Channels       int64 // channels with a stream
	HistoryBytes   int64 // what history holds, in cost bytes
	Evicted        int64 // messages evicted by the node-wide byte cap
	IdempotentKeys int64 // idempotency keys remembered
}

// Stats returns a snapshot. It locks each shard briefly.
func (b *Broker) Stats() Stats {
	st := Stats{Channels: b.channels.Load(), Evicted: b.evicted.Load(), IdempotentKeys: b.keys.Load()}
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		st.HistoryBytes += sh.bytes
		sh.mu.Unlock()
	}
	return st
}
