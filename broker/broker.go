package broker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Position is a place in a channel's stream: its epoch and the seq of the
// last publication before that place. A seq means something only together
// with its epoch.
type Position struct {
	Epoch string
	Seq   uint64
}

// Publication is one message of a channel as an engine stores and delivers
// it. It is immutable once published: the same value may sit in an
// in-process history and be delivered by many loops at once.
type Publication struct {
	Channel string
	// Epoch and Seq are the publication's position, assigned by the engine:
	// Seq is 1 for the first publication of an epoch and +1 for each next
	// one. An ephemeral publication has Seq 0 and is never stored.
	Epoch string
	Seq   uint64
	// Time is when the engine accepted it, in Unix milliseconds.
	Time int64
	// Data is the payload: compact, validated JSON.
	Data []byte
	// Publisher is who sent it; nil when the backend API did.
	Publisher *ClientInfo
	// Conversation groups the publications of a user's personal channel
	// by what they belong to (a DM, a group, the channel itself); "" on
	// other channels.
	Conversation string

	// Memo is the consumer's cache of what it derives from the publication
	// (its wire encodings), so that a replay from an in-process history
	// reuses the bytes built for live delivery. Engines never touch it.
	Memo atomic.Value
}

// ClientInfo identifies a client connection: the user it authenticated
// as, the device or client id from its token, and the connection itself.
type ClientInfo struct {
	User   string // "" for an anonymous client
	Client string // device/client id; "" when the token names none
	Conn   string // unique per connection across the cluster
}

// StreamState describes a channel's stream when it was read.
type StreamState struct {
	// Epoch names the stream's current incarnation; "" when the channel
	// has no stream (never published to, or expired and dropped).
	Epoch string
	// Top is the seq of the latest publication; 0 when there is none.
	Top uint64
	// Oldest is the seq of the oldest publication history still holds;
	// 0 when it holds none.
	Oldest uint64
	// Created is when the epoch began, in Unix milliseconds; 0 when Epoch
	// is "".
	Created int64
}

// PublishOptions qualify one publish.
type PublishOptions struct {
	// Publisher is carried to subscribers with the publication.
	Publisher *ClientInfo
	// Ephemeral publications are delivered live only: no seq, no history
	// (typing indicators, presence events). Publish returns the zero
	// Position for them and ignores IdempotencyKey.
	Ephemeral bool
	// HistorySize and HistoryTTL override the engine's history bounds for
	// this channel (a namespace's settings); zero keeps the defaults,
	// negative HistorySize keeps no history.
	HistorySize int
	HistoryTTL  time.Duration
	// IdempotencyKey, when set, makes a retried publish with the same key
	// on the same channel within the engine's window return the first
	// publish's position without storing the data again.
	IdempotencyKey string
	// Conversation is carried to subscribers with the publication (and
	// stored with it).
	Conversation string
	// At relays a publication that was stored elsewhere (a user's inbox)
	// at this position: the engine delivers it to every node subscribed
	// to the channel with this epoch and seq, and stores and assigns
	// nothing (history, idempotency and history options are ignored;
	// Publish returns *At). Relays of one channel from several nodes may
	// arrive out of seq order, and a retried publish relays again; a node
	// skips a seq it has, treats a jump as a gap and reads the channel's
	// history, which the store behind the relay serves.
	At *Position
	// Time, with At, is the stored publication's time (Unix ms), which the
	// relay carries instead of its own clock's: a live delivery then has
	// the time its replay will have. 0 means now.
	Time int64
}

// Fanout is implemented by engines that can store one publication in
// several channels in one atomic step (the inbox: a DM in both
// participants' logs). PublishMany returns one position per channel, in
// order; on error nothing is stored, except after a context error, when
// a retry with the same IdempotencyKey completes it. Channels it cannot
// store together get ErrNotAtomic.
type Fanout interface {
	PublishMany(ctx context.Context, channels []string, data []byte, opts PublishOptions) ([]Position, error)
}

// HistoryOptions select what History returns.
type HistoryOptions struct {
	// After returns only publications with a greater seq, oldest first.
	After uint64
	// Limit caps the publications returned; 0 returns none, only the
	// stream's state.
	Limit int
}

// Engine errors. Implementations wrap them, so callers test with errors.Is.
var (
	// ErrTooManyChannels: the engine holds as many channels as it may.
	ErrTooManyChannels = errors.New("broker: channel limit reached")
	// ErrUnavailable: the engine could not be reached, or did not confirm
	// in time. A publish that fails with it is not acknowledged: it may
	// have been stored or not, so a publisher retries it with the same
	// IdempotencyKey, never reports it stored.
	ErrUnavailable = errors.New("broker: unavailable")
	// ErrClosed: the engine was closed; every call after Close fails so.
	ErrClosed = errors.New("broker: closed")
	// ErrNotAtomic: Fanout.PublishMany cannot store these channels in one
	// step (not all of them are the engine's to store together); nothing
	// was stored, and the caller publishes them one by one.
	ErrNotAtomic = errors.New("broker: not one atomic step")
)

// Broker is the engine under a Comet node: it assigns positions, keeps
// history, and delivers publications of the channels the node has local
// interest in. A shared broker (Redis) does all three for a whole cluster,
// so any node can serve any request.
//
// All methods may be called from any goroutine. Channel names passed in
// may alias the caller's memory and are valid only during the call; an
// implementation copies what it keeps.
type Broker interface {
	// Start makes the broker deliver publications to h. It is called once,
	// before any Subscribe.
	Start(h Handler) error
	// Publish stores data as the next publication of channel (unless the
	// options make it ephemeral) and delivers it to every node subscribed
	// to channel. It returns the publication's position once it is stored:
	// a returned position is never lost while history keeps it. The engine
	// may keep data: the caller must not change it afterwards.
	Publish(ctx context.Context, channel string, data []byte, opts PublishOptions) (Position, error)
	// History appends to dst the publications of channel after opts.After,
	// oldest first, at most opts.Limit (fewer only where what history
	// holds ends), and returns the stream's state read in the same step.
	// When history no longer holds opts.After+1, it starts at the oldest
	// publication it holds. Reading never creates a channel.
	History(ctx context.Context, channel string, opts HistoryOptions, dst []*Publication) ([]*Publication, StreamState, error)
	// Subscribe declares that this node has local interest in channel.
	// When it returns, every publication stored afterwards is delivered
	// to the Handler. Calls are counted: each successful Subscribe is
	// matched by one Unsubscribe; a failed one holds nothing.
	Subscribe(ctx context.Context, channel string) error
	// Unsubscribe withdraws one Subscribe of channel.
	Unsubscribe(ctx context.Context, channel string) error
	// Close stops delivery and releases the broker's resources.
	Close(ctx context.Context) error
}

// Handler receives the publications a Broker delivers.
type Handler interface {
	// OnPublication delivers a publication of a channel the node
	// subscribed to. Per channel, calls come one at a time in publish
	// order (stored ones in seq order). After a lost link the engine reads
	// back what the link missed from history first; what history no longer
	// holds shows as a jump in seq (or a new epoch), which the node treats
	// as a gap. It must not block and must not call back into the broker.
	OnPublication(p *Publication)
}

// Inline is implemented by brokers whose calls never wait on the network
// or a disk and hold locks only briefly (the in-process engine): a node
// calls them directly on its event loops instead of through its pool of
// workers.
type Inline interface {
	Broker
	// Inline marks the implementation; it does nothing.
	Inline()
}

// PresenceInfo is one connection present in a channel.
type PresenceInfo struct {
	ClientInfo
	// Transport is how the connection is served: "ws", "sse", "poll"...
	Transport string
	// Since is when the connection joined, in Unix milliseconds.
	Since int64
}

// PresenceStats counts a channel's presence.
type PresenceStats struct {
	Connections int // connections present
	Users       int // distinct users among them; anonymous connections count as one user, ""
}

// Presence tracks which connections are present in which channels. An
// entry lives for the ttl given when it was last added; a node re-adds
// the entries of its live connections before they expire, so a node that
// dies takes its entries with it within one ttl.
//
// All methods may be called from any goroutine.
type Presence interface {
	// AddPresence adds or refreshes info.Conn's entry in channel, and
	// reports whether it is new (it had none, or it had expired): the node
	// announces a join then.
	AddPresence(ctx context.Context, channel string, info PresenceInfo, ttl time.Duration) (added bool, err error)
	// RemovePresence removes the entry of connection conn from channel,
	// and reports whether there was a live one: the node announces a
	// leave then.
	RemovePresence(ctx context.Context, channel, conn string) (removed bool, err error)
	// ExpirePresence removes conn's entry from channel only if it has
	// expired, and reports whether it did. A node that saw a long-poller
	// go quiet asks it, so that of all the nodes the poller used, exactly
	// one announces its leave, and none while it still polls elsewhere.
	ExpirePresence(ctx context.Context, channel, conn string) (expired bool, err error)
	// Presence appends to dst the live entries of channel.
	Presence(ctx context.Context, channel string, dst []PresenceInfo) ([]PresenceInfo, error)
	// PresenceStats counts the live entries of channel.
	PresenceStats(ctx context.Context, channel string) (PresenceStats, error)
}
