package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/comet-im/comet/broker"
	"github.com/redis/rueidis"
)

// History reads channel's state and its publications after opts.After in
// one read-only script call: it never creates a key.
func (b *Broker) History(ctx context.Context, channel string, opts broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	if b.closed.Load() {
		return dst, broker.StreamState{}, b.errClosed("history")
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	return b.readStream(ctx, channel, opts.After, opts.Limit, "", dst)
}

// readStream runs the history script. With epoch set and the stream in
// another epoch, it reads that epoch from its start (recovery).
func (b *Broker) readStream(ctx context.Context, channel string, after uint64, limit int, epoch string, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	var st broker.StreamState
	k, err := b.keysFor(channel, "")
	if err != nil {
		return dst, st, err
	}
	res := historyScript.Exec(ctx, b.client,
		[]string{k.meta, k.stream},
		[]string{b.nowArg(), strconv.FormatUint(after, 10), strconv.Itoa(max(limit, 0)), epoch})
	arr, err := res.ToArray()
	if err != nil {
		return dst, st, b.fail("history", ctx, err)
	}
	if len(arr) != 5 {
		return dst, st, fmt.Errorf("redis: history: %d results, want 5", len(arr))
	}
	var errs [4]error
	var top, oldest int64
	st.Epoch, errs[0] = arr[0].ToString()
	top, errs[1] = arr[1].AsInt64()
	oldest, errs[2] = arr[2].AsInt64()
	st.Created, errs[3] = arr[3].AsInt64()
	for _, e := range errs {
		if e != nil {
			return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad result: %w", e)
		}
	}
	st.Top, st.Oldest = uint64(top), uint64(oldest)
	entries, err := arr[4].ToArray()
	if err != nil {
		return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad entries: %w", err)
	}
	name := channel
	if len(entries) > 0 {
		name = string([]byte(channel)) // channel may alias the caller's memory
	}
	for i := range entries {
		p, err := decodeEntry(name, st.Epoch, &entries[i])
		if err != nil {
			return dst, broker.StreamState{}, err
		}
		dst = append(dst, p)
	}
	return dst, st, nil
}

// decodeEntry decodes one stream entry {id, {"t", ms, "d", blob}}.
func decodeEntry(channel, epoch string, e *rueidis.RedisMessage) (*broker.Publication, error) {
	parts, err := e.ToArray()
	if err != nil || len(parts) != 2 {
		return nil, fmt.Errorf("redis: history: bad entry")
	}
	id, err := parts[0].ToString()
	if err != nil {
		return nil, fmt.Errorf("redis: history: bad entry id: %w", err)
	}
	seq, err := seqOfID(id)
	if err != nil {
		return nil, fmt.Errorf("redis: history: bad entry id %q", id)
	}
	fv, err := parts[1].ToArray()
	if err != nil || len(fv) != 4 {
		return nil, fmt.Errorf("redis: history: bad entry %s fields", id)
	}
	ms, err1 := fv[1].AsInt64()
	blob, err2 := fv[3].ToString()
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("redis: history: bad entry %s fields", id)
	}
	p := &broker.Publication{Channel: channel, Epoch: epoch, Seq: seq, Time: ms}
	if err := decodeBlob(blob, p); err != nil {
		return nil, err
	}
	return p, nil
}
