package redis

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/internal/testredis"
)

// The keys are those docs/REDIS.md draws, of the types it says, each
// named with the user's hash tag; a user's records are as described.
func TestKeyLayout(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	s := open(t, cfg)
	m := msg("dm:alice:bob", "bob", 1)
	m.FromDevice, m.Key = "phone", "k1"
	if _, err := s.Append(bg, []string{"alice", "bob"}, m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(bg, []string{"alice"}, msg("room:1", "carol", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack(bg, "alice", "laptop", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkRead(bg, "alice", "dm:alice:bob", 1); err != nil {
		t.Fatal(err)
	}
	v, err := srv.Do("KEYS", cfg.Prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range v.([]any) {
		keys = append(keys, k.(string))
	}
	slices.Sort(keys)
	p := cfg.Prefix + "inbox:"
	want := []string{
		p + "users",
		p + "{alice}:d", p + "{alice}:k", p + "{alice}:l", p + "{alice}:m", p + "{alice}:q", p + "{alice}:x", p + "{alice}:z",
		// bob's own message: nothing unread, no unread index.
		p + "{bob}:k", p + "{bob}:l", p + "{bob}:m", p + "{bob}:q", p + "{bob}:z",
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys\n%v\nwant\n%v", keys, want)
	}
	types := map[string]string{"m": "hash", "l": "list", "d": "hash", "z": "zset", "x": "zset", "k": "hash", "q": "zset"}
	for _, k := range keys {
		if k == p+"users" {
			continue
		}
		if got, _ := srv.Do("TYPE", k); got != types[k[len(k)-1:]] {
			t.Fatalf("%s is a %v", k, got)
		}
	}
	get := func(args ...string) any {
		t.Helper()
		v, err := srv.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	entry := get("LINDEX", p+"{alice}:l", "0").(string)
	if entry[entryTimeSize:] != `dm:alice:bob bob phone k1 {"i":1}` || be64(entry) == 0 {
		t.Fatalf("entry %q", entry)
	}
	meta := get("HGETALL", p+"{alice}:m").([]any)
	if len(meta) != 8 || meta[0] != "e" || meta[2] != "s" || meta[4] != " dm:alice:bob" || meta[6] != " room:1" {
		t.Fatalf("alice's meta hash %q", meta)
	}
	st := meta[3].(string)
	size := 13 + len("dm:alice:bob") + len("bob") + len("phone") + len("k1") + len(`{"i":1}`) +
		13 + len("room:1") + len("carol") + len(`{"i":2}`)
	// top, oldest, bytes, unread, created, updated, head time, listed
	if len(st) != stateSize || field(st, 0) != 2 || field(st, 1) != 1 || field(st, 2) != uint64(size) ||
		field(st, 3) != 1 || field(st, 6) != be64(entry) || field(st, 7) != 1 {
		t.Fatalf("alice's state %x, want bytes %d", st, size)
	}
	if c, ok := parseConv("dm:alice:bob", meta[5].(string)); !ok || c.Read != 1 || c.Kept != 1 || c.Unread != 0 || c.LastSeq != 1 {
		t.Fatalf("alice's dm record %+v", c)
	}
	if got := get("ZRANGE", p+"{alice}:x", "0", "-1"); len(got.([]any)) != 1 || got.([]any)[0] != "room:1 0000000000000002" {
		t.Fatalf("alice's unread index %v", got)
	}
	if got := get("ZRANGE", p+"{alice}:z", "0", "-1"); len(got.([]any)) != 2 || got.([]any)[0] != "dm:alice:bob" {
		t.Fatalf("alice's conversation ids %v", got)
	}
	if rec := get("HGET", p+"{alice}:k", "bob k1").(string); len(rec) != 16 || field(rec, 0) != 1 {
		t.Fatalf("alice's idempotency record %x", rec)
	}
	if rec := get("HGET", p+"{alice}:d", "laptop").(string); len(rec) != deviceSize || field(rec, 0) != 1 {
		t.Fatalf("alice's device record %x", rec)
	}
	if ttl := get("PTTL", p+"{alice}:k").(int64); ttl <= 0 {
		t.Fatalf("the idempotency records do not expire: pttl %d", ttl)
	}
	if users := get("ZRANGE", p+"users", "0", "-1"); len(users.([]any)) != 2 {
		t.Fatalf("users index %v", users)
	}
	// A deleted user leaves no key.
	if err := s.DeleteUser(bg, "alice"); err != nil {
		t.Fatal(err)
	}
	if v, _ := srv.Do("KEYS", p+"{alice}*"); len(v.([]any)) != 0 {
		t.Fatalf("keys left by a deleted user: %v", v)
	}
}

// On a single server a fan-out is one script: atomic for all its
// recipients.
func TestSingleServerFanOutIsOneScript(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	s := open(t, testConfig(srv.Addr()))
	to := make([]string, 10)
	for i := range to {
		to[i] = "u" + strconv.Itoa(i)
	}
	if _, err := s.Append(bg, to, msg("group:1", "u0", 0)); err != nil {
		t.Fatal(err)
	}
	calls := func() string {
		info, _ := srv.Info("commandstats")
		_, rest, _ := strings.Cut(info, "cmdstat_evalsha:calls=")
		n, _, _ := strings.Cut(rest, ",")
		return n
	}
	before := calls()
	if _, err := s.Append(bg, to, msg("group:1", "u0", 1)); err != nil {
		t.Fatal(err)
	}
	b, _ := strconv.Atoi(before)
	if a, _ := strconv.Atoi(calls()); a != b+1 {
		t.Fatalf("a fan-out to 10 ran %d scripts", a-b)
	}
}

// A record that does not decode is ErrCorrupt, not a wrong answer.
func TestCorruptRecord(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	s := open(t, cfg)
	if _, err := s.Append(bg, []string{"alice"}, msg("room:1", "bob", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("HSET", cfg.Prefix+"inbox:{alice}:m", "s", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.State(bg, "alice"); !errors.Is(err, inbox.ErrCorrupt) {
		t.Fatalf("State: %v, want ErrCorrupt", err)
	}
	if _, err := s.Append(bg, []string{"alice"}, msg("room:1", "bob", 2)); !errors.Is(err, inbox.ErrCorrupt) {
		t.Fatalf("Append: %v, want ErrCorrupt", err)
	}
	if _, err := s.Read(bg, "alice", 0, 0); !errors.Is(err, inbox.ErrCorrupt) {
		t.Fatalf("Read: %v, want ErrCorrupt", err)
	}
	if _, err := srv.Do("HSET", cfg.Prefix+"inbox:{alice}:m", " room:1", "1 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(bg, "alice", "room:1"); !errors.Is(err, inbox.ErrCorrupt) {
		t.Fatalf("Conversation: %v, want ErrCorrupt", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for name, c := range map[string]Config{
		"prefix":      {Prefix: "a{b"},
		"timeout":     {Timeout: -1},
		"address":     {Addrs: []string{""}},
		"payload":     {MaxPayloadBytes: 32 << 20},
		"recipients":  {MaxRecipients: -1},
		"idempotency": {IdempotencyWindow: 30 * 24 * 3600e9},
		"sweep users": {SweepUsers: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	// Nothing listens on the port: New fails, as unavailable.
	cfg := testConfig("127.0.0.1:1")
	cfg.DialTimeout = 100 * 1e6
	if _, err := New(cfg); err == nil {
		t.Fatal("New with no server succeeded")
	}
}
