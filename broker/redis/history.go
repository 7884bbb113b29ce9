package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/comet-im/comet/broker"
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
	k, err := b.keysFor(channel, "", 0)
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
	if len(arr) < 4 || (len(arr)-4)%3 != 0 {
		return dst, st, fmt.Errorf("redis: history: %d results", len(arr))
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
	entries := arr[4:]
	if len(entries) == 0 {
		return dst, st, nil
	}
	name := string([]byte(channel)) // channel may alias the caller's memory
	// One allocation for all the publications.
	block := make([]broker.Publication, len(entries)/3)
	for i := range block {
		p := &block[i]
		seq, err1 := entries[3*i].AsInt64()
		ms, err2 := entries[3*i+1].AsInt64()
		blob, err3 := entries[3*i+2].ToString()
		if err1 != nil || err2 != nil || err3 != nil || seq <= 0 {
			return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad entry %d", i)
		}
		p.Channel, p.Epoch, p.Seq, p.Time = name, st.Epoch, uint64(seq), ms
		if err := decodeBlob(blob, p); err != nil {
			return dst, broker.StreamState{}, err
		}
		dst = append(dst, p)
	}
	return dst, st, nil
}
