package brokertest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// RunPresence runs the presence contract against engines from
// newPresence.
func RunPresence(t *testing.T, newPresence NewPresence) {
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, p broker.Presence, clock *Clock)
	}{
		{"AddListCount", testPresenceAddListCount},
		{"Remove", testPresenceRemove},
		{"TTL", testPresenceTTL},
		{"ChannelsAreIndependent", testPresenceChannels},
		{"JoinAndLeaveFlags", testPresenceFlags},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock()
			p := newPresence(t, Options{HistorySize: DefaultHistorySize, HistoryTTL: DefaultHistoryTTL, IdempotencyWindow: time.Minute, Now: clock.Now})
			tc.f(t, p, clock)
		})
	}
}

func entry(user, client, conn, transport string, since int64) broker.PresenceInfo {
	return broker.PresenceInfo{ClientInfo: broker.ClientInfo{User: user, Client: client, Conn: conn}, Transport: transport, Since: since}
}

func add(t *testing.T, p broker.Presence, ch string, info broker.PresenceInfo, ttl time.Duration) bool {
	t.Helper()
	added, err := p.AddPresence(context.Background(), ch, info, ttl)
	if err != nil {
		t.Fatalf("AddPresence %s %s: %v", ch, info.Conn, err)
	}
	return added
}

// list returns channel's entries sorted by connection.
func list(t *testing.T, p broker.Presence, ch string) []broker.PresenceInfo {
	t.Helper()
	got, err := p.Presence(context.Background(), ch, nil)
	if err != nil {
		t.Fatalf("Presence %s: %v", ch, err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Conn < got[j].Conn })
	return got
}

func stats(t *testing.T, p broker.Presence, ch string) broker.PresenceStats {
	t.Helper()
	st, err := p.PresenceStats(context.Background(), ch)
	if err != nil {
		t.Fatalf("PresenceStats %s: %v", ch, err)
	}
	return st
}

func conns(infos []broker.PresenceInfo) []string {
	s := make([]string, len(infos))
	for i, in := range infos {
		s[i] = in.Conn
	}
	return s
}

func testPresenceAddListCount(t *testing.T, p broker.Presence, clock *Clock) {
	since := clock.Now().UnixMilli()
	a := entry("u1", "phone", "a", "ws", since)
	b := entry("u1", "laptop", "b", "sse", since+1)
	c := entry("u2", "", "c", "poll", since+2)
	for _, e := range []broker.PresenceInfo{a, b, c} {
		add(t, p, "room", e, time.Minute)
	}
	got := list(t, p, "room")
	want := []broker.PresenceInfo{a, b, c}
	if len(got) != 3 {
		t.Fatalf("entries %v, want a b c", conns(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 3, Users: 2}) {
		t.Fatalf("stats %+v, want 3 connections of 2 users", st)
	}
	// Adding again refreshes, it does not duplicate.
	a2 := a
	a2.Transport = "poll"
	add(t, p, "room", a2, time.Minute)
	got = list(t, p, "room")
	if len(got) != 3 || got[0] != a2 {
		t.Fatalf("after re-adding a: %+v", got)
	}
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 3, Users: 2}) {
		t.Fatalf("stats after re-adding %+v, want 3 of 2", st)
	}
	// A connection that re-adds as another user moves to that user.
	c2 := c
	c2.User = "u1"
	add(t, p, "room", c2, time.Minute)
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 3, Users: 1}) {
		t.Fatalf("stats after c became u1: %+v, want 3 of 1", st)
	}
	// The caller's slice is appended to.
	dst := []broker.PresenceInfo{entry("x", "", "sentinel", "", 0)}
	dst, err := p.Presence(context.Background(), "room", dst)
	if err != nil || len(dst) != 4 || dst[0].Conn != "sentinel" {
		t.Fatalf("Presence into dst = %v, %v", conns(dst), err)
	}
	if got := list(t, p, "nobody-here"); len(got) != 0 {
		t.Fatalf("unknown channel lists %v", conns(got))
	}
	if st := stats(t, p, "nobody-here"); st != (broker.PresenceStats{}) {
		t.Fatalf("unknown channel stats %+v", st)
	}
}

func testPresenceRemove(t *testing.T, p broker.Presence, clock *Clock) {
	add(t, p, "room", entry("u1", "", "a", "ws", 1), time.Minute)
	add(t, p, "room", entry("u1", "", "b", "ws", 2), time.Minute)
	add(t, p, "room", entry("u2", "", "c", "ws", 3), time.Minute)
	rm := func(conn string) {
		t.Helper()
		if _, err := p.RemovePresence(context.Background(), "room", conn); err != nil {
			t.Fatalf("RemovePresence %s: %v", conn, err)
		}
	}
	rm("b")
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 2, Users: 2}) {
		t.Fatalf("after removing b: %+v, want 2 of 2", st)
	}
	rm("a")
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 1, Users: 1}) {
		t.Fatalf("after removing a: %+v, want 1 of 1", st)
	}
	rm("a")      // twice
	rm("absent") // never there
	if got := list(t, p, "room"); len(got) != 1 || got[0].Conn != "c" {
		t.Fatalf("left %v, want c", conns(got))
	}
	rm("c")
	if st := stats(t, p, "room"); st != (broker.PresenceStats{}) {
		t.Fatalf("after removing all: %+v", st)
	}
}

func testPresenceTTL(t *testing.T, p broker.Presence, clock *Clock) {
	add(t, p, "room", entry("u1", "", "long", "ws", 1), time.Minute)
	add(t, p, "room", entry("u2", "", "short", "ws", 2), 10*time.Second)
	add(t, p, "room", entry("u3", "", "kept", "ws", 3), 10*time.Second)
	clock.Advance(8 * time.Second)
	add(t, p, "room", entry("u3", "", "kept", "ws", 3), 10*time.Second) // refreshed in time
	clock.Advance(4 * time.Second)
	if got := list(t, p, "room"); len(got) != 2 || got[0].Conn != "kept" || got[1].Conn != "long" {
		t.Fatalf("after 12s: %v, want kept and long", conns(got))
	}
	if st := stats(t, p, "room"); st != (broker.PresenceStats{Connections: 2, Users: 2}) {
		t.Fatalf("after 12s: %+v, want 2 of 2", st)
	}
	clock.Advance(time.Minute)
	if st := stats(t, p, "room"); st != (broker.PresenceStats{}) {
		t.Fatalf("after every ttl: %+v, want none", st)
	}
	if got := list(t, p, "room"); len(got) != 0 {
		t.Fatalf("after every ttl: %v", conns(got))
	}
}

func testPresenceChannels(t *testing.T, p broker.Presence, clock *Clock) {
	add(t, p, "a", entry("u1", "", "c1", "ws", 1), time.Minute)
	add(t, p, "b", entry("u2", "", "c2", "ws", 1), time.Minute)
	if got := list(t, p, "a"); len(got) != 1 || got[0].Conn != "c1" {
		t.Fatalf("a: %v", conns(got))
	}
	if _, err := p.RemovePresence(context.Background(), "a", "c2"); err != nil {
		t.Fatal(err)
	}
	if got := list(t, p, "b"); len(got) != 1 || got[0].Conn != "c2" {
		t.Fatalf("removing c2 from a touched b: %v", conns(got))
	}
}

// The flags a node announces joins and leaves by: a new entry is added,
// a refreshed one is not; a live entry is removed, an absent one is not;
// only an expired entry expires, once.
func testPresenceFlags(t *testing.T, p broker.Presence, clock *Clock) {
	ctx := context.Background()
	if !add(t, p, "room", entry("u1", "", "a", "poll", 1), 10*time.Second) {
		t.Fatal("a first entry was not reported new")
	}
	if add(t, p, "room", entry("u1", "", "a", "poll", 1), 10*time.Second) {
		t.Fatal("a refreshed entry was reported new")
	}
	if expired, err := p.ExpirePresence(ctx, "room", "a"); err != nil || expired {
		t.Fatalf("a live entry expired: %v %v", expired, err)
	}
	clock.Advance(11 * time.Second)
	if expired, err := p.ExpirePresence(ctx, "room", "a"); err != nil || !expired {
		t.Fatalf("an expired entry did not expire: %v %v", expired, err)
	}
	if expired, _ := p.ExpirePresence(ctx, "room", "a"); expired {
		t.Fatal("an entry expired twice")
	}
	if !add(t, p, "room", entry("u1", "", "a", "poll", 1), 10*time.Second) {
		t.Fatal("an entry added again after it expired was not reported new")
	}
	if removed, err := p.RemovePresence(ctx, "room", "a"); err != nil || !removed {
		t.Fatalf("removing a live entry: %v %v", removed, err)
	}
	if removed, _ := p.RemovePresence(ctx, "room", "a"); removed {
		t.Fatal("an absent entry was removed")
	}
}
