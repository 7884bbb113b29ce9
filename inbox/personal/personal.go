package personal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
)

// Config configures a Broker.
type Config struct {
	// Store keeps the users' logs; Close closes it.
	Store inbox.Store
	// Relay is the engine of every other channel and carries the live
	// deliveries of personal ones; Close closes it.
	Relay broker.Broker
	// User returns the user whose personal channel channel is (the
	// namespace policy's PersonalUser), or false.
	User func(channel string) (user string, ok bool)
}

// DefaultConversation is the conversation of a personal publication that
// names none (the backend notifying a user).
const DefaultConversation = "system"

// Broker is the engine for personal channels described in the package
// comment.
type Broker struct {
	cfg          Config
	relayFailed  atomic.Uint64
	appended     atomic.Uint64
	replayedRead atomic.Uint64
}

var (
	_ broker.Broker = (*Broker)(nil)
	_ broker.Fanout = (*Broker)(nil)
)

// New checks c and returns a Broker.
func New(c Config) (*Broker, error) {
	if c.Store == nil || c.Relay == nil || c.User == nil {
		return nil, errors.New("personal: Store, Relay and User are required")
	}
	return &Broker{cfg: c}, nil
}

// Start starts the relay's delivery to h.
func (b *Broker) Start(h broker.Handler) error { return b.cfg.Relay.Start(h) }

// Subscribe declares local interest at the relay, which carries the live
// deliveries of every channel.
func (b *Broker) Subscribe(ctx context.Context, channel string) error {
	return b.cfg.Relay.Subscribe(ctx, channel)
}

// Unsubscribe withdraws one Subscribe at the relay.
func (b *Broker) Unsubscribe(ctx context.Context, channel string) error {
	return b.cfg.Relay.Unsubscribe(ctx, channel)
}

// Close closes the relay, then the store (after the node drained: no
// call is in flight).
func (b *Broker) Close(ctx context.Context) error {
	return errors.Join(b.cfg.Relay.Close(ctx), b.cfg.Store.Close())
}

// Publish stores a publication to a personal channel in the user's log
// and relays it; anything else (other channels, ephemeral publications,
// relays) goes to the relay as is.
func (b *Broker) Publish(ctx context.Context, channel string, data []byte, opts broker.PublishOptions) (broker.Position, error) {
	if _, ok := b.cfg.User(channel); !ok || opts.Ephemeral || opts.At != nil {
		return b.cfg.Relay.Publish(ctx, channel, data, opts)
	}
	pos, err := b.PublishMany(ctx, []string{channel}, data, opts)
	if err != nil {
		return broker.Position{}, err
	}
	return pos[0], nil
}

// PublishMany stores one publication in the logs of every personal
// channel of channels in one atomic append (inbox.Store.Append), then
// relays it to each. When channels are not all personal (or the
// publication is ephemeral or a relay) it stores nothing and returns
// broker.ErrNotAtomic.
//
// The publication is acknowledged once stored: a relay that fails (the
// relay engine down) is counted and leaves the live subscribers to find
// the message when the next one shows them the gap, or when they
// reconnect. A retry with the same IdempotencyKey relays again.
func (b *Broker) PublishMany(ctx context.Context, channels []string, data []byte, opts broker.PublishOptions) ([]broker.Position, error) {
	users := make([]string, len(channels))
	for i, ch := range channels {
		u, ok := b.cfg.User(ch)
		if !ok || opts.Ephemeral || opts.At != nil {
			return nil, broker.ErrNotAtomic
		}
		users[i] = u
	}
	m := inbox.Message{Conversation: opts.Conversation, Payload: data, Key: inboxKey(opts.IdempotencyKey)}
	if m.Conversation == "" {
		m.Conversation = DefaultConversation
	}
	if p := opts.Publisher; p != nil {
		m.From, m.FromDevice = p.User, p.Client
	}
	appended, err := b.cfg.Store.Append(ctx, users, m)
	if err != nil {
		return nil, err
	}
	for _, a := range appended {
		if !a.Duplicate {
			b.appended.Add(1)
		}
	}
	out := make([]broker.Position, len(appended))
	for i, a := range appended {
		out[i] = broker.Position{Epoch: epochString(a.Epoch), Seq: a.Seq}
		relay := opts
		relay.At, relay.IdempotencyKey, relay.Conversation, relay.Time = &out[i], "", m.Conversation, a.Time.UnixMilli()
		if _, err := b.cfg.Relay.Publish(ctx, channels[i], data, relay); err != nil {
			b.relayFailed.Add(1)
		}
	}
	return out, nil
}

// History reads a personal channel from the user's log (every other one
// from the relay): the entries after opts.After, up to opts.Limit, across
// the store's pages, with the log's state. Retention shows as the oldest
// seq kept: the reader counts what it missed from it exactly.
func (b *Broker) History(ctx context.Context, channel string, opts broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	user, ok := b.cfg.User(channel)
	if !ok {
		return b.cfg.Relay.History(ctx, channel, opts, dst)
	}
	if opts.Limit <= 0 {
		st, err := b.cfg.Store.State(ctx, user)
		if err != nil {
			return dst, broker.StreamState{}, err
		}
		return dst, streamState(st), nil
	}
	after, want := opts.After, opts.Limit
	var st inbox.State
	for want > 0 {
		page, err := b.cfg.Store.Read(ctx, user, after, want)
		if err != nil {
			return dst, broker.StreamState{}, err
		}
		st = page.State
		epoch := epochString(st.Epoch)
		for i := range page.Entries {
			dst = append(dst, publication(channel, epoch, &page.Entries[i]))
		}
		want -= len(page.Entries)
		after = page.Next
		if !page.More || len(page.Entries) == 0 {
			break
		}
	}
	b.replayedRead.Add(uint64(opts.Limit - want))
	return dst, streamState(st), nil
}

// publication turns a log entry into the channel's publication.
func publication(channel, epoch string, e *inbox.Entry) *broker.Publication {
	p := &broker.Publication{Channel: channel, Epoch: epoch, Seq: e.Seq, Time: e.Time.UnixMilli(),
		Data: e.Payload, Conversation: e.Conversation}
	if e.From != "" || e.FromDevice != "" {
		p.Publisher = &broker.ClientInfo{User: e.From, Client: e.FromDevice}
	}
	return p
}

// streamState is a log's state as a channel's.
func streamState(st inbox.State) broker.StreamState {
	if st.Epoch == 0 {
		return broker.StreamState{}
	}
	s := broker.StreamState{Epoch: epochString(st.Epoch), Top: st.Top, Created: st.Created.UnixMilli()}
	if st.Kept() > 0 {
		s.Oldest = st.Oldest
	}
	return s
}

func epochString(e uint64) string {
	if e == 0 {
		return ""
	}
	return strconv.FormatUint(e, 10)
}

// inboxKey fits an idempotency key into the inbox's key rules (64 bytes of
// the id set): a key that does not is replaced by a digest of it, which
// is as unique.
func inboxKey(k string) string {
	if k == "" {
		return ""
	}
	if inbox.ValidKey(k) {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "h:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Stats counts what the broker did, for metrics.
type Stats struct {
	Appended     uint64 // entries stored (one per recipient; an idempotent retry stores none)
	RelayFailed  uint64 // stored publications whose live relay failed
	ReplayedRead uint64 // entries read for replays
}

// Stats returns the counters. Any goroutine.
func (b *Broker) Stats() Stats {
	return Stats{Appended: b.appended.Load(), RelayFailed: b.relayFailed.Load(), ReplayedRead: b.replayedRead.Load()}
}
