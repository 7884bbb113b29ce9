package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/redis/rueidis"
)

// Presence lives in three keys per channel: a hash of entries by
// connection, a sorted set of their expiry times, and a hash counting
// each user's entries (so distinct users are one HLEN). Every presence
// script first drops the expired entries, fixing the user counts as it
// goes, so every answer is exact and nothing outlives its ttl; the keys
// themselves expire with their longest-lived entry.

// AddPresence adds or refreshes info.Conn's entry in channel for ttl, and
// reports whether it is new.
func (b *Broker) AddPresence(ctx context.Context, channel string, info broker.PresenceInfo, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redis: add presence: ttl %v must be positive", ttl)
	}
	entry := appendPresence(make([]byte, 0, 32+len(info.User)+len(info.Client)+len(info.Transport)), info)
	return b.presenceFlag(ctx, "add presence", presenceAddScript, channel, info.Conn, stringOf(entry), strconv.FormatInt(millis(ttl), 10))
}

// RemovePresence removes the entry of connection conn from channel, and
// reports whether there was a live one.
func (b *Broker) RemovePresence(ctx context.Context, channel, conn string) (bool, error) {
	return b.presenceFlag(ctx, "remove presence", presenceRemoveScript, channel, conn)
}

// ExpirePresence removes conn's entry from channel if it has expired.
func (b *Broker) ExpirePresence(ctx context.Context, channel, conn string) (bool, error) {
	return b.presenceFlag(ctx, "expire presence", presenceExpireScript, channel, conn)
}

// presenceFlag runs a presence script that answers 0 or 1.
func (b *Broker) presenceFlag(ctx context.Context, op string, script *rueidis.Lua, channel string, args ...string) (bool, error) {
	if b.closed.Load() {
		return false, b.errClosed(op)
	}
	keys, err := b.presenceKeys(channel)
	if err != nil {
		return false, err
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	n, err := script.Exec(ctx, b.client, keys, append([]string{b.nowArg()}, args...)).AsInt64()
	if err != nil {
		return false, b.fail(op, ctx, err)
	}
	return n == 1, nil
}

// Presence appends to dst the live entries of channel.
func (b *Broker) Presence(ctx context.Context, channel string, dst []broker.PresenceInfo) ([]broker.PresenceInfo, error) {
	arr, err := b.presence(ctx, "presence", presenceGetScript, channel)
	if err != nil {
		return dst, err
	}
	for i := 0; i+1 < len(arr); i += 2 {
		conn, err1 := arr[i].ToString()
		v, err2 := arr[i+1].ToString()
		if err1 != nil || err2 != nil {
			return dst, fmt.Errorf("redis: presence: bad entry")
		}
		info, err := decodePresence(conn, v)
		if err != nil {
			return dst, fmt.Errorf("redis: presence: entry of %q: %w", conn, err)
		}
		dst = append(dst, info)
	}
	return dst, nil
}

// PresenceStats counts the live entries of channel and their distinct
// users (the anonymous user "" counts as one, as in broker/memory).
func (b *Broker) PresenceStats(ctx context.Context, channel string) (broker.PresenceStats, error) {
	arr, err := b.presence(ctx, "presence stats", presenceStatsScript, channel)
	if err != nil {
		return broker.PresenceStats{}, err
	}
	if len(arr) != 2 {
		return broker.PresenceStats{}, fmt.Errorf("redis: presence stats: %d results, want 2", len(arr))
	}
	conns, err1 := arr[0].AsInt64()
	users, err2 := arr[1].AsInt64()
	if err1 != nil || err2 != nil {
		return broker.PresenceStats{}, fmt.Errorf("redis: presence stats: bad result")
	}
	return broker.PresenceStats{Connections: int(conns), Users: int(users)}, nil
}

// presence runs one presence script on channel's keys.
func (b *Broker) presence(ctx context.Context, op string, script *rueidis.Lua, channel string, args ...string) ([]rueidis.RedisMessage, error) {
	if b.closed.Load() {
		return nil, b.errClosed(op)
	}
	keys, err := b.presenceKeys(channel)
	if err != nil {
		return nil, err
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	res := script.Exec(ctx, b.client, keys, append([]string{b.nowArg()}, args...))
	if err := res.Error(); err != nil {
		return nil, b.fail(op, ctx, err)
	}
	if arr, err := res.ToArray(); err == nil {
		return arr, nil
	}
	return nil, nil // a script that returns a status
}
