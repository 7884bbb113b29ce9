package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/redis/rueidis"
)

// Publish runs the publish script: it creates the channel's epoch if it
// has none, takes the next seq, appends to the history stream (bounded
// by size exactly and by age), remembers the idempotency key, and
// publishes to the channel's topic, all in one atomic step. A returned
// position is stored; any error means it was not (see broker.ErrUnavailable
// for the one ambiguous case, a timeout after sending).
func (b *Broker) Publish(ctx context.Context, channel string, data []byte, opts broker.PublishOptions) (broker.Position, error) {
	if b.closed.Load() {
		return broker.Position{}, b.errClosed("publish")
	}
	if opts.At != nil {
		return b.relay(ctx, channel, data, opts)
	}
	idem := opts.IdempotencyKey
	if opts.Ephemeral {
		idem = "" // nothing is stored, so there is nothing to de-duplicate
	}
	// The keys, the epoch and the encoded publication share one buffer.
	k, err := b.keysFor(channel, idem, maxEpochLen+blobLen(data, opts.Publisher, opts.Conversation))
	if err != nil {
		return broker.Position{}, err
	}
	size, ttl := b.argSize, b.argTTL
	if opts.HistorySize != 0 {
		size = strconv.Itoa(max(opts.HistorySize, 0))
	}
	if opts.HistoryTTL > 0 {
		ttl = strconv.FormatInt(millis(opts.HistoryTTL), 10)
	}
	idemKey, window := k.meta, "0"
	if k.idem != "" {
		idemKey, window = k.idem, b.argWindow
	}
	ephemeral := "0"
	if opts.Ephemeral {
		ephemeral = "1"
	}
	buf := k.buf
	start := len(buf)
	buf = appendEpoch(buf)
	epochEnd := len(buf)
	buf = appendBlob(buf, data, opts.Publisher, opts.Conversation)
	all := stringOf(buf)
	epoch, blob := all[start:epochEnd], all[epochEnd:]

	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	// One array for the keys and the arguments.
	kv := [...]string{k.meta, k.stream, idemKey,
		b.nowArg(), epoch, blob, size, ttl, b.argMetaTTL, window, k.topic, b.pubCmd, ephemeral}
	keys, args := kv[:3:3], kv[3:]
	arr, err := publishScript.Exec(ctx, b.client, keys, args).ToArray()
	if err != nil && k.idem != "" && retryable(ctx, err) {
		// A connection that died under the call (Redis restarted) may or
		// may not have carried it; with an idempotency key, asking again
		// is safe, and the answer is the first position if it had.
		arr, err = publishScript.Exec(ctx, b.client, keys, args).ToArray()
	}
	if err != nil {
		return broker.Position{}, b.fail("publish", ctx, err)
	}
	if len(arr) != 4 {
		return broker.Position{}, fmt.Errorf("redis: publish: %d results, want 4", len(arr))
	}
	seq, err1 := arr[0].AsInt64()
	epoch, err2 := arr[1].ToString()
	if err1 != nil || err2 != nil || seq < 0 {
		return broker.Position{}, fmt.Errorf("redis: publish: bad result %v", arr)
	}
	if opts.Ephemeral {
		return broker.Position{}, nil
	}
	return broker.Position{Epoch: epoch, Seq: uint64(seq)}, nil
}

// relay publishes a publication stored elsewhere (opts.At) to the
// channel's topic, as the publish script would have: one PUBLISH (or
// SPUBLISH), nothing stored.
func (b *Broker) relay(ctx context.Context, channel string, data []byte, opts broker.PublishOptions) (broker.Position, error) {
	topic, _ := b.topicOf(channel)
	ms := opts.Time
	switch {
	case ms != 0:
	case b.cfg.Now != nil:
		ms = b.cfg.Now().UnixMilli()
	default:
		ms = time.Now().UnixMilli()
	}
	msg := strconv.AppendUint(make([]byte, 0, 48+blobLen(data, opts.Publisher, opts.Conversation)), opts.At.Seq, 10)
	msg = append(msg, ':')
	msg = append(msg, opts.At.Epoch...)
	msg = append(msg, ':')
	msg = strconv.AppendInt(msg, ms, 10)
	msg = append(msg, ':')
	msg = appendBlob(msg, data, opts.Publisher, opts.Conversation)
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	var cmd rueidis.Completed
	if b.cfg.Cluster {
		cmd = b.client.B().Spublish().Channel(topic).Message(stringOf(msg)).Build()
	} else {
		cmd = b.client.B().Publish().Channel(topic).Message(stringOf(msg)).Build()
	}
	if err := b.client.Do(ctx, cmd).Error(); err != nil {
		return broker.Position{}, b.fail("relay", ctx, err)
	}
	return *opts.At, nil
}

// retryable reports a failure of the connection rather than of Redis or
// of the deadline.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, rueidis.ErrClosing) {
		return false
	}
	_, isRedis := rueidis.IsRedisErr(err)
	return !isRedis
}
