package personal

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/inbox"
)

// userOf is the test's personal namespace: user:ID.
func userOf(ch string) (string, bool) {
	u, ok := strings.CutPrefix(ch, "user:")
	return u, ok && u != ""
}

type env struct {
	t     *testing.T
	ctx   context.Context
	store *inbox.DB
	b     *Broker
	rec   *brokertest.Recorder
}

func newEnv(t *testing.T, o inbox.Options) *env {
	t.Helper()
	store, err := inbox.Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	// The relay's clock runs 33 ms behind the store's writes (an fsync):
	// a live delivery must carry the stored entry's time all the same.
	storeNow := o.Now
	if storeNow == nil {
		storeNow = time.Now
	}
	relay, err := memory.New(memory.Config{Now: func() time.Time { return storeNow().Add(33 * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Store: store, Relay: relay, User: userOf})
	if err != nil {
		t.Fatal(err)
	}
	rec := brokertest.NewRecorder()
	if err := b.Start(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &env{t: t, ctx: context.Background(), store: store, b: b, rec: rec}
}

func (e *env) publish(ch, data string, opts broker.PublishOptions) broker.Position {
	e.t.Helper()
	pos, err := e.b.Publish(e.ctx, ch, []byte(data), opts)
	if err != nil {
		e.t.Fatalf("publish %s: %v", ch, err)
	}
	return pos
}

// A publication to a personal channel is in the user's log, at the log's
// position, before Publish returns; it is relayed live with that position
// and its conversation and publisher; nothing goes to the relay's own
// history.
func TestPersonalPublishIsStoredAndRelayed(t *testing.T) {
	e := newEnv(t, inbox.Options{})
	if err := e.b.Subscribe(e.ctx, "user:alice"); err != nil {
		t.Fatal(err)
	}
	who := &broker.ClientInfo{User: "bob", Client: "phone"}
	pos := e.publish("user:alice", `{"text":"hi"}`, broker.PublishOptions{Publisher: who, Conversation: "dm:3:bob:alice"})
	st, err := e.store.State(e.ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if pos.Seq != 1 || pos.Epoch != strconv.FormatUint(st.Epoch, 10) || st.Top != 1 {
		t.Fatalf("position %+v, log state %+v", pos, st)
	}
	got := e.rec.Wait(t, "user:alice", 1)[0]
	if got.Seq != 1 || got.Epoch != pos.Epoch || got.Conversation != "dm:3:bob:alice" || got.Publisher.User != "bob" || string(got.Data) != `{"text":"hi"}` {
		t.Fatalf("relayed %+v", got)
	}
	pubs, ss, err := e.b.History(e.ctx, "user:alice", broker.HistoryOptions{Limit: 10}, nil)
	if err != nil || len(pubs) != 1 || pubs[0].Seq != 1 || pubs[0].Publisher.Client != "phone" || pubs[0].Conversation != "dm:3:bob:alice" {
		t.Fatalf("history %v %v", pubs, err)
	}
	if got.Time != pubs[0].Time {
		t.Fatalf("live delivery at %d, its stored entry at %d: a replay would carry another time", got.Time, pubs[0].Time)
	}
	if ss.Epoch != pos.Epoch || ss.Top != 1 || ss.Oldest != 1 {
		t.Fatalf("stream state %+v", ss)
	}
	// Without a conversation, the backend's notice is "system".
	e.publish("user:alice", `2`, broker.PublishOptions{})
	if pubs, _, _ := e.b.History(e.ctx, "user:alice", broker.HistoryOptions{After: 1, Limit: 10}, nil); len(pubs) != 1 || pubs[0].Conversation != DefaultConversation || pubs[0].Publisher != nil {
		t.Fatalf("notice %+v", pubs[0])
	}
	// Other channels and ephemeral publications are the relay's.
	if p := e.publish("room:1", `1`, broker.PublishOptions{}); p.Seq != 1 || p.Epoch == pos.Epoch {
		t.Fatalf("room position %+v", p)
	}
	if p := e.publish("user:alice", `"typing"`, broker.PublishOptions{Ephemeral: true}); p.Seq != 0 {
		t.Fatalf("ephemeral position %+v", p)
	}
	if st, _ := e.store.State(e.ctx, "alice"); st.Top != 2 {
		t.Fatalf("ephemeral stored: top %d", st.Top)
	}
}

// A replay longer than the store's page comes back whole, and a read
// limited to N gets N.
func TestHistoryAcrossPages(t *testing.T) {
	e := newEnv(t, inbox.Options{PageSize: 7})
	for i := 1; i <= 50; i++ {
		e.publish("user:u", strconv.Itoa(i), broker.PublishOptions{})
	}
	pubs, st, err := e.b.History(e.ctx, "user:u", broker.HistoryOptions{After: 3, Limit: 40}, nil)
	if err != nil || len(pubs) != 40 || pubs[0].Seq != 4 || pubs[39].Seq != 43 || st.Top != 50 {
		t.Fatalf("history: %d pubs, %v, top %d", len(pubs), err, st.Top)
	}
	for i, p := range pubs {
		if p.Seq != uint64(4+i) {
			t.Fatalf("pub %d has seq %d", i, p.Seq)
		}
	}
	_, st, _ = e.b.History(e.ctx, "user:u", broker.HistoryOptions{Limit: 0}, nil)
	if st.Top != 50 {
		t.Fatalf("state only: %+v", st)
	}
	if pubs, st, err := e.b.History(e.ctx, "user:nobody", broker.HistoryOptions{Limit: 10}, nil); err != nil || len(pubs) != 0 || st != (broker.StreamState{}) {
		t.Fatalf("a user without a log: %v %+v %v", pubs, st, err)
	}
}

// Retention shows as the oldest seq kept: a reader behind it learns
// exactly how many it missed.
func TestRetentionShowsAsOldest(t *testing.T) {
	e := newEnv(t, inbox.Options{Retention: inbox.Retention{MaxEntries: 10}})
	for i := 1; i <= 25; i++ {
		e.publish("user:u", strconv.Itoa(i), broker.PublishOptions{})
	}
	pubs, st, err := e.b.History(e.ctx, "user:u", broker.HistoryOptions{After: 2, Limit: 100}, nil)
	if err != nil || st.Oldest != 16 || st.Top != 25 || len(pubs) != 10 || pubs[0].Seq != 16 {
		t.Fatalf("history after 2: %d pubs from %d, state %+v, %v", len(pubs), pubs[0].Seq, st, err)
	}
	if missed := st.Oldest - 1 - 2; missed != 13 {
		t.Fatalf("missed %d, want 13", missed)
	}
}

// A DM is one append to both logs: each side its own seq, in one call;
// a retry with the key stores nothing again and answers the same
// positions, and relays again (the first relay may have been lost).
func TestFanoutAndIdempotency(t *testing.T) {
	e := newEnv(t, inbox.Options{})
	e.publish("user:b", `"earlier"`, broker.PublishOptions{})
	for _, ch := range []string{"user:a", "user:b"} {
		if err := e.b.Subscribe(e.ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	opts := broker.PublishOptions{Publisher: &broker.ClientInfo{User: "a"}, Conversation: "dm:1:a:b",
		IdempotencyKey: "c:a:" + strings.Repeat("é", 40)} // too long and outside the id set: digested
	pos, err := e.b.PublishMany(e.ctx, []string{"user:a", "user:b"}, []byte(`"hi"`), opts)
	if err != nil || len(pos) != 2 || pos[0].Seq != 1 || pos[1].Seq != 2 {
		t.Fatalf("fan-out %+v %v", pos, err)
	}
	again, err := e.b.PublishMany(e.ctx, []string{"user:a", "user:b"}, []byte(`"hi"`), opts)
	if err != nil || again[0] != pos[0] || again[1] != pos[1] {
		t.Fatalf("retry %+v, first %+v, %v", again, pos, err)
	}
	if st, _ := e.store.State(e.ctx, "b"); st.Top != 2 {
		t.Fatalf("the retry stored again: top %d", st.Top)
	}
	if got := e.rec.Wait(t, "user:b", 2); got[0].Seq != 2 || got[1].Seq != 2 {
		t.Fatalf("relays %+v", got)
	}
}

// A fan-out it cannot store in one step (a room among the users) stores
// nothing and says so: the caller publishes those one by one.
func TestPublishManyRefusesMixedLists(t *testing.T) {
	e := newEnv(t, inbox.Options{})
	_, err := e.b.PublishMany(e.ctx, []string{"user:alice", "room:1"}, []byte(`1`), broker.PublishOptions{})
	if !errors.Is(err, broker.ErrNotAtomic) {
		t.Fatalf("mixed list: %v, want ErrNotAtomic", err)
	}
	if st, _ := e.store.State(e.ctx, "alice"); st.Top != 0 {
		t.Fatalf("a refused fan-out stored %d entries", st.Top)
	}
}
