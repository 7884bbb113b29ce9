package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/internal/testredis"
)

func TestEscapeName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"room:1", "a}b", "%7D", "}}%%", "{x}", "user:alice@example.com"} {
		esc := string(escapeName(nil, name))
		if strings.Contains(esc, "}") {
			t.Errorf("escape(%q) = %q holds a '}'", name, esc)
		}
		if got := unescapeName(esc); got != name {
			t.Errorf("unescape(escape(%q)) = %q", name, got)
		}
	}
	if esc := string(escapeName(nil, "%7D")); esc == string(escapeName(nil, "}")) {
		t.Error("two names share an escape")
	}
}

// slotOf agrees with Redis's CLUSTER KEYSLOT.
func TestSlotMatchesRedis(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{Config: []string{"cluster-enabled yes", "cluster-config-file nodes.conf"}})
	for _, tag := range []string{"room:1", "a", "user:alice", "x%7Dy", "123456789"} {
		v, err := srv.Do("CLUSTER", "KEYSLOT", "comet:{"+tag+"}:m")
		if err != nil {
			t.Fatal(err)
		}
		if want := v.(int64); int64(slotOf(tag)) != want {
			t.Errorf("slot of %q = %d, Redis says %d", tag, slotOf(tag), want)
		}
	}
}

func TestTopicRoundTrip(t *testing.T) {
	t.Parallel()
	b := &Broker{cfg: Config{Prefix: "p:"}}
	for _, name := range []string{"room:1", "a}b", "%"} {
		topic, _ := b.topicOf(name)
		k, _ := b.keysFor(name, "", 0)
		if topic != k.topic {
			t.Errorf("%q: topicOf %q, keysFor %q", name, topic, k.topic)
		}
		if got, ok := b.channelOfTopic(topic); !ok || got != name {
			t.Errorf("channelOfTopic(%q) = %q, %v", topic, got, ok)
		}
	}
	for _, topic := range []string{"p:room", "q:{room}:p", "p:{room}:m", "p:{}:p"} {
		if _, ok := b.channelOfTopic(topic); ok {
			t.Errorf("channelOfTopic(%q) accepted a topic not ours", topic)
		}
	}
}

func dbsize(t *testing.T, srv *testredis.Server) int64 {
	t.Helper()
	v, err := srv.Do("DBSIZE")
	if err != nil {
		t.Fatal(err)
	}
	return v.(int64)
}

func pttl(t *testing.T, srv *testredis.Server, key string) time.Duration {
	t.Helper()
	v, err := srv.Do("PTTL", key)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(v.(int64)) * time.Millisecond
}

// Reads create no key at all: not the channel's, not presence's.
func TestReadsCreateNoKey(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b, _ := started(t, testConfig(srv.Addr()))
	ctx := context.Background()
	b.History(ctx, "ch", broker.HistoryOptions{Limit: 10}, nil)
	b.Presence(ctx, "ch", nil)
	b.PresenceStats(ctx, "ch")
	_, _ = b.RemovePresence(ctx, "ch", "c1")
	b.Publish(ctx, "ch", []byte(`1`), broker.PublishOptions{Ephemeral: true})
	if err := b.Subscribe(ctx, "ch"); err != nil {
		t.Fatal(err)
	}
	b.Unsubscribe(ctx, "ch")
	if n := dbsize(t, srv); n != 0 {
		t.Fatalf("%d keys after reads only, want 0", n)
	}
}

// The keys a publish leaves, their bounds and their lifetimes.
func TestKeyLayoutAndBounds(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.HistorySize, cfg.HistoryTTL, cfg.MetaTTL, cfg.IdempotencyWindow = 5, time.Minute, time.Hour, 30*time.Second
	b := open(t, cfg)
	ctx := context.Background()
	for range 8 {
		b.Publish(ctx, "room:1", []byte(`1`), broker.PublishOptions{})
	}
	b.Publish(ctx, "room:1", []byte(`1`), broker.PublishOptions{IdempotencyKey: "k"})
	p := cfg.Prefix + "{room:1}"
	if v, _ := srv.Do("XLEN", p+":s"); v != int64(5) {
		t.Fatalf("stream length %v, want exactly 5", v)
	}
	if v, _ := srv.Do("HGET", p+":m", "s"); v != "9" {
		t.Fatalf("meta seq %v, want 9", v)
	}
	// The meta and the stream live their ttl after the last publish, plus
	// up to an eighth of the history ttl (their lives are extended at most
	// that often); the idempotency key its window exactly.
	for key, want := range map[string]time.Duration{p + ":m": time.Hour, p + ":s": time.Minute, p + ":i:k": 30 * time.Second} {
		if d := pttl(t, srv, key); d <= want-time.Minute/2 || d > want+cfg.HistoryTTL/8 {
			t.Errorf("%s: ttl %v, want about %v", key, d, want)
		}
	}
	if n := dbsize(t, srv); n != 3 {
		t.Fatalf("%d keys, want meta, stream and one idempotency key", n)
	}
	// A very long idempotency key is stored hashed: bounded key size.
	long := strings.Repeat("x", 10000)
	b.Publish(ctx, "room:1", []byte(`1`), broker.PublishOptions{IdempotencyKey: long})
	if v, _ := srv.Do("EXISTS", p+":i:"+hashKey(long)); v != int64(1) {
		t.Fatal("long idempotency key not stored as its hash")
	}
	// A channel name with braces keeps all its keys in one slot.
	if _, err := b.Publish(ctx, "we}ird{", []byte(`1`), broker.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := srv.Do("EXISTS", cfg.Prefix+"{we%7Dird{}:m"); v != int64(1) {
		t.Fatal("escaped channel's meta key missing")
	}
	if _, err := b.Publish(ctx, "", []byte(`1`), broker.PublishOptions{}); err == nil {
		t.Fatal("publish to an empty channel name succeeded")
	}
}

// Real expiry inside Redis (no test clock): the stream goes after the
// history ttl, the meta stays, so the position keeps its epoch and a
// client learns of a gap rather than of a new stream.
func TestMetaOutlivesHistory(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b := open(t, testConfig(srv.Addr()))
	ctx := context.Background()
	opts := broker.PublishOptions{HistoryTTL: 200 * time.Millisecond}
	p1, _ := b.Publish(ctx, "ch", []byte(`1`), opts)
	b.Publish(ctx, "ch", []byte(`2`), opts)
	stream := b.cfg.Prefix + "{ch}:s"
	eventually(t, "stream expiry", func() bool { v, _ := srv.Do("EXISTS", stream); return v == int64(0) })
	pubs, st, err := b.History(ctx, "ch", broker.HistoryOptions{Limit: 10}, nil)
	if err != nil || len(pubs) != 0 || st.Epoch != p1.Epoch || st.Top != 2 || st.Oldest != 0 {
		t.Fatalf("after history expired: %d pubs, %+v, %v; want none, top 2 of %q", len(pubs), st, err, p1.Epoch)
	}
	p3, _ := b.Publish(ctx, "ch", []byte(`3`), broker.PublishOptions{})
	if p3.Epoch != p1.Epoch || p3.Seq != 3 {
		t.Fatalf("publish after history expired: %+v, want seq 3 of %q", p3, p1.Epoch)
	}
}

// An idempotency key is forgotten after the window: the same key then
// publishes anew.
func TestIdempotencyWindow(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.IdempotencyWindow = 200 * time.Millisecond
	b := open(t, cfg)
	ctx := context.Background()
	opts := broker.PublishOptions{IdempotencyKey: "k"}
	p1, _ := b.Publish(ctx, "ch", []byte(`1`), opts)
	if p, _ := b.Publish(ctx, "ch", []byte(`1`), opts); p != p1 {
		t.Fatalf("within the window: %+v, want %+v", p, p1)
	}
	key := cfg.Prefix + "{ch}:i:k"
	eventually(t, "idempotency key expiry", func() bool { v, _ := srv.Do("EXISTS", key); return v == int64(0) })
	if p, _ := b.Publish(ctx, "ch", []byte(`1`), opts); p.Seq != 2 {
		t.Fatalf("after the window: %+v, want seq 2", p)
	}
}

// Presence keys expire with their longest entry, and anonymous
// connections count as one user (as in broker/memory).
func TestPresenceKeysExpire(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b := open(t, testConfig(srv.Addr()))
	ctx := context.Background()
	anon := func(conn string) broker.PresenceInfo {
		return broker.PresenceInfo{ClientInfo: broker.ClientInfo{Conn: conn}, Transport: "ws"}
	}
	_, _ = b.AddPresence(ctx, "ch", anon("a"), 300*time.Millisecond)
	_, _ = b.AddPresence(ctx, "ch", anon("b"), 300*time.Millisecond)
	if st, _ := b.PresenceStats(ctx, "ch"); st != (broker.PresenceStats{Connections: 2, Users: 1}) {
		t.Fatalf("two anonymous: %+v, want 2 connections, 1 user", st)
	}
	eventually(t, "presence keys expiry", func() bool { return dbsize(t, srv) == 0 })
	if st, _ := b.PresenceStats(ctx, "ch"); st != (broker.PresenceStats{}) {
		t.Fatalf("after expiry: %+v", st)
	}
	if _, err := b.AddPresence(ctx, "ch", anon("a"), 0); err == nil {
		t.Fatal("AddPresence with no ttl succeeded")
	}
}

// Expired entries the publish has not trimmed yet neither show nor cut a
// page short: a read from before them starts at the oldest kept.
func TestHistoryPagesPastExpired(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	clock := brokertest.NewClock()
	cfg := testConfig(srv.Addr())
	cfg.Now, cfg.HistoryTTL = clock.Now, time.Minute
	b := open(t, cfg)
	ctx := context.Background()
	for range 10 {
		b.Publish(ctx, "ch", []byte(`"old"`), broker.PublishOptions{})
	}
	clock.Advance(50 * time.Second)
	for range 10 {
		b.Publish(ctx, "ch", []byte(`"new"`), broker.PublishOptions{})
	}
	clock.Advance(20 * time.Second) // the first ten are past the ttl
	if v, _ := srv.Do("XLEN", cfg.Prefix+"{ch}:s"); v != int64(20) {
		t.Fatalf("stream holds %v, want all 20 (none trimmed yet)", v)
	}
	pubs, st, err := b.History(ctx, "ch", broker.HistoryOptions{After: 0, Limit: 5}, nil)
	if err != nil || st.Oldest != 11 || len(pubs) != 5 || pubs[0].Seq != 11 || pubs[4].Seq != 15 {
		t.Fatalf("History after 0 limit 5: %v, %+v, %v; want 11..15, oldest 11", seqsOf(pubs), st, err)
	}
}

func seqsOf(ps []*broker.Publication) []uint64 {
	s := make([]uint64, len(ps))
	for i, p := range ps {
		s[i] = p.Seq
	}
	return s
}

// History turned off and on again: the stream that comes back still
// expires.
func TestHistoryOffAndOn(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	b := open(t, cfg)
	ctx := context.Background()
	stream := cfg.Prefix + "{ch}:s"
	b.Publish(ctx, "ch", []byte(`1`), broker.PublishOptions{})
	for range 3 {
		b.Publish(ctx, "ch", []byte(`2`), broker.PublishOptions{HistorySize: -1})
	}
	if v, _ := srv.Do("EXISTS", stream); v != int64(0) {
		t.Fatal("stream kept with history off")
	}
	pos, _ := b.Publish(ctx, "ch", []byte(`3`), broker.PublishOptions{})
	if d := pttl(t, srv, stream); d <= 0 {
		t.Fatalf("stream back without a ttl (%v)", d)
	}
	pubs, st, _ := b.History(ctx, "ch", broker.HistoryOptions{Limit: 10}, nil)
	if pos.Seq != 5 || len(pubs) != 1 || pubs[0].Seq != 5 || st.Oldest != 5 {
		t.Fatalf("after history came back: %+v, %v, %+v", pos, seqsOf(pubs), st)
	}
}
