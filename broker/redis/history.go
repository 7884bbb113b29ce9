package redis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/comet-im/comet/broker"
	"github.com/redis/rueidis"
)

// History reads channel's state and its publications after opts.After
// in one atomic step (a read-only script and an XRANGE in one
// MULTI/EXEC): it never creates a key.
func (b *Broker) History(ctx context.Context, channel string, opts broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	if b.closed.Load() {
		return dst, broker.StreamState{}, b.errClosed("history")
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	return b.readStream(ctx, channel, opts.After, opts.Limit, "", dst)
}

// readStream reads the state and up to limit publications after after.
// With epoch set and the stream in another epoch (it expired and began
// again), it reads the new epoch from its start instead: the engine's own
// recovery reads.
func (b *Broker) readStream(ctx context.Context, channel string, after uint64, limit int, epoch string, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	k, err := b.keysFor(channel, "", 0)
	if err != nil {
		return dst, broker.StreamState{}, err
	}
	if limit <= 0 {
		arr, err := historyScript.Exec(ctx, b.client, []string{k.meta, k.stream}, []string{b.nowArg()}).ToArray()
		if err != nil {
			return dst, broker.StreamState{}, b.fail("history", ctx, err)
		}
		st, err := parseState(arr)
		return dst, st, err
	}
	for attempt := 0; ; attempt++ {
		st, entries, err := b.readOnce(ctx, k, after, limit)
		if err != nil {
			if re, ok := rueidis.IsRedisErr(err); ok && re.IsNoScript() && attempt < 2 {
				// A script cannot be loaded inside MULTI: load it by running
				// it alone (EVAL caches it), then read again.
				if err := historyScript.Exec(ctx, b.client, []string{k.meta, k.stream}, []string{b.nowArg()}).Error(); err != nil {
					return dst, broker.StreamState{}, b.fail("history", ctx, err)
				}
				continue
			}
			return dst, broker.StreamState{}, b.fail("history", ctx, err)
		}
		if epoch != "" && st.Epoch != "" && st.Epoch != epoch && after != 0 && attempt < 2 {
			after, epoch = 0, st.Epoch
			continue
		}
		if st.Epoch == "" || st.Oldest == 0 {
			return dst, st, nil // no stream, or nothing kept (a stale stream is ignored)
		}
		if after+1 < st.Oldest && len(entries) > 0 && firstSeq(entries) < st.Oldest && attempt < 2 {
			// The read began among expired entries not yet trimmed, so the
			// page would come short: read from the oldest kept instead.
			after = st.Oldest - 1
			continue
		}
		return decodeEntries(channel, st, entries, dst)
	}
}

// readOnce runs MULTI, the state script, XRANGE after+1 COUNT limit, EXEC.
func (b *Broker) readOnce(ctx context.Context, k channelKeys, after uint64, limit int) (broker.StreamState, []rueidis.RedisMessage, error) {
	c := b.client
	from := "+" // nothing after the largest seq
	if after < math.MaxUint64 {
		from = strconv.FormatUint(after+1, 10) + "-0"
	}
	res := c.DoMulti(ctx,
		c.B().Multi().Build(),
		c.B().EvalshaRo().Sha1(historySHA).Numkeys(2).Key(k.meta, k.stream).Arg(b.nowArg()).Build(),
		c.B().Xrange().Key(k.stream).Start(from).End("+").Count(int64(limit)).Build(),
		c.B().Exec().Build())
	for _, r := range res[:3] {
		if err := r.Error(); err != nil {
			return broker.StreamState{}, nil, err
		}
	}
	arr, err := res[3].ToArray()
	if err != nil {
		return broker.StreamState{}, nil, err
	}
	if len(arr) != 2 {
		return broker.StreamState{}, nil, fmt.Errorf("redis: history: %d results in EXEC, want 2", len(arr))
	}
	if err := arr[0].Error(); err != nil {
		return broker.StreamState{}, nil, err
	}
	state, err := arr[0].ToArray()
	if err != nil {
		return broker.StreamState{}, nil, err
	}
	st, err := parseState(state)
	if err != nil {
		return broker.StreamState{}, nil, err
	}
	entries, err := arr[1].ToArray()
	if err != nil && !rueidis.IsRedisNil(err) {
		return broker.StreamState{}, nil, err
	}
	return st, entries, nil
}

// parseState decodes the state script's {epoch, top, oldest, created}.
func parseState(arr []rueidis.RedisMessage) (broker.StreamState, error) {
	var st broker.StreamState
	if len(arr) != 4 {
		return st, fmt.Errorf("redis: history: %d state fields, want 4", len(arr))
	}
	var errs [4]error
	var top, oldest int64
	st.Epoch, errs[0] = arr[0].ToString()
	top, errs[1] = arr[1].AsInt64()
	oldest, errs[2] = arr[2].AsInt64()
	st.Created, errs[3] = arr[3].AsInt64()
	for _, e := range errs {
		if e != nil {
			return broker.StreamState{}, fmt.Errorf("redis: history: bad state: %w", e)
		}
	}
	st.Top, st.Oldest = uint64(top), uint64(oldest)
	return st, nil
}

// decodeEntries appends the XRANGE entries {id, {"t", ms, "d", blob}}
// that history still keeps (seq >= oldest) to dst.
func decodeEntries(channel string, st broker.StreamState, entries []rueidis.RedisMessage, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	if len(entries) == 0 {
		return dst, st, nil
	}
	name := string([]byte(channel)) // channel may alias the caller's memory
	// One allocation for all the publications.
	block := make([]broker.Publication, len(entries))
	n := 0
	for i := range entries {
		parts, err := entries[i].ToArray()
		if err != nil || len(parts) != 2 {
			return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad entry %d", i)
		}
		id, err1 := parts[0].ToString()
		fv, err2 := parts[1].ToArray()
		if err1 != nil || err2 != nil || len(fv) != 4 {
			return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad entry %d", i)
		}
		seq, err1 := strconv.ParseUint(strings.TrimSuffix(id, "-0"), 10, 64)
		ms, err2 := fv[1].AsInt64()
		blob, err3 := fv[3].ToString()
		if err1 != nil || err2 != nil || err3 != nil {
			return dst, broker.StreamState{}, fmt.Errorf("redis: history: bad entry %q", id)
		}
		if seq < st.Oldest || seq > st.Top {
			continue // expired but not trimmed yet
		}
		p := &block[n]
		n++
		p.Channel, p.Epoch, p.Seq, p.Time = name, st.Epoch, seq, ms
		if err := decodeBlob(blob, p); err != nil {
			return dst, broker.StreamState{}, err
		}
		dst = append(dst, p)
	}
	return dst, st, nil
}

// firstSeq is the seq of the first XRANGE entry, 0 when unreadable.
func firstSeq(entries []rueidis.RedisMessage) uint64 {
	parts, err := entries[0].ToArray()
	if err != nil || len(parts) == 0 {
		return 0
	}
	id, _ := parts[0].ToString()
	seq, _ := strconv.ParseUint(strings.TrimSuffix(id, "-0"), 10, 64)
	return seq
}
