package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// fakeClock is the tests' clock: it moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_800_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	pubs []*broker.Publication
}

func (r *recorder) OnPublication(p *broker.Publication) {
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
}

func (r *recorder) seqs(ch string) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, p := range r.pubs {
		if p.Channel == ch {
			out = append(out, p.Seq)
		}
	}
	return out
}

func newBroker(t *testing.T, cfg Config) (*Broker, *recorder, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	cfg.SweepInterval = time.Hour // tests sweep by hand
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if err := b.Start(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, rec, clock
}

var ctx = context.Background()

func publish(t *testing.T, b *Broker, ch, data string) broker.Position {
	t.Helper()
	pos, err := b.Publish(ctx, ch, []byte(data), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func TestReadingCreatesNothing(t *testing.T) {
	b, _, _ := newBroker(t, Config{})
	pubs, st, err := b.History(ctx, "never", broker.HistoryOptions{Limit: 10}, nil)
	if err != nil || len(pubs) != 0 || st != (broker.StreamState{}) {
		t.Fatalf("history of a never-published channel: %v %v %+v", err, pubs, st)
	}
	if err := b.Subscribe(ctx, "never"); err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().Channels; n != 0 {
		t.Fatalf("%d channels after reading and subscribing, want 0", n)
	}
}

func TestSeqHistoryAndState(t *testing.T) {
	b, _, _ := newBroker(t, Config{HistorySize: 3})
	for i := 1; i <= 5; i++ {
		pos := publish(t, b, "c", fmt.Sprintf("%d", i))
		if pos.Seq != uint64(i) || pos.Epoch == "" {
			t.Fatalf("publish %d: position %+v", i, pos)
		}
	}
	pubs, st, _ := b.History(ctx, "c", broker.HistoryOptions{After: 0, Limit: 10}, nil)
	if st.Top != 5 || st.Oldest != 3 || st.Created == 0 || len(pubs) != 3 || pubs[0].Seq != 3 || pubs[2].Seq != 5 {
		t.Fatalf("state %+v, pubs %d", st, len(pubs))
	}
	pubs, _, _ = b.History(ctx, "c", broker.HistoryOptions{After: 3, Limit: 1}, nil)
	if len(pubs) != 1 || pubs[0].Seq != 4 {
		t.Fatalf("after 3 limit 1: %v", pubs)
	}
	pubs, _, _ = b.History(ctx, "c", broker.HistoryOptions{After: 5, Limit: 10}, nil)
	if len(pubs) != 0 {
		t.Fatalf("after the top: %d publications", len(pubs))
	}
	pubs, st, _ = b.History(ctx, "c", broker.HistoryOptions{Limit: 0}, nil)
	if len(pubs) != 0 || st.Top != 5 {
		t.Fatalf("limit 0 must return the state only: %d, %+v", len(pubs), st)
	}
}

func TestDeliveryOnlyWithInterestInOrder(t *testing.T) {
	b, rec, _ := newBroker(t, Config{})
	publish(t, b, "c", "1")
	if err := b.Subscribe(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := b.Publish(ctx, "c", []byte("1"), broker.PublishOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got := rec.seqs("c")
	if len(got) != 400 {
		t.Fatalf("delivered %d, want 400", len(got))
	}
	for i, s := range got {
		if s != uint64(i+2) {
			t.Fatalf("delivery %d has seq %d: not in order", i, s)
		}
	}
	_ = b.Unsubscribe(ctx, "c")
	publish(t, b, "c", "2")
	if n := len(rec.seqs("c")); n != 400 {
		t.Fatalf("delivered after unsubscribe: %d", n)
	}
}

func TestEphemeralNeitherStoredNorSequenced(t *testing.T) {
	b, rec, _ := newBroker(t, Config{})
	_ = b.Subscribe(ctx, "typing")
	pos, err := b.Publish(ctx, "typing", []byte(`"x"`), broker.PublishOptions{Ephemeral: true})
	if err != nil || pos != (broker.Position{}) {
		t.Fatalf("ephemeral publish: %+v %v", pos, err)
	}
	if got := rec.seqs("typing"); len(got) != 1 || got[0] != 0 {
		t.Fatalf("ephemeral delivery: %v", got)
	}
	if n := b.Stats().Channels; n != 0 {
		t.Fatalf("an ephemeral publish created a channel")
	}
}

func TestTTLAndIdleChannelDrop(t *testing.T) {
	b, _, clock := newBroker(t, Config{HistoryTTL: time.Minute})
	first := publish(t, b, "c", "1")
	clock.Advance(30 * time.Second)
	publish(t, b, "c", "2")
	clock.Advance(45 * time.Second) // message 1 is 75 s old, 2 is 45 s old
	pubs, st, _ := b.History(ctx, "c", broker.HistoryOptions{Limit: 10}, nil)
	if len(pubs) != 1 || pubs[0].Seq != 2 || st.Oldest != 2 {
		t.Fatalf("after TTL: %d pubs, state %+v", len(pubs), st)
	}
	clock.Advance(time.Minute)
	b.Sweep()
	if n := b.Stats().Channels; n != 0 {
		t.Fatalf("idle empty channel kept: %d channels", n)
	}
	if again := publish(t, b, "c", "3"); again.Epoch == first.Epoch || again.Seq != 1 {
		t.Fatalf("a new stream must have a new epoch and start at 1: %+v after %+v", again, first)
	}
}

func TestSubscribedChannelIsNotDropped(t *testing.T) {
	b, _, clock := newBroker(t, Config{HistoryTTL: time.Minute})
	pos := publish(t, b, "c", "1")
	_ = b.Subscribe(ctx, "c")
	clock.Advance(time.Hour)
	b.Sweep()
	_, st, _ := b.History(ctx, "c", broker.HistoryOptions{}, nil)
	if st.Epoch != pos.Epoch || st.Top != 1 {
		t.Fatalf("subscribed channel lost its stream: %+v", st)
	}
	// Its last subscriber leaving starts its idle time.
	_ = b.Unsubscribe(ctx, "c")
	clock.Advance(30 * time.Second)
	b.Sweep()
	if _, st, _ = b.History(ctx, "c", broker.HistoryOptions{}, nil); st.Epoch != pos.Epoch {
		t.Fatalf("dropped before HistoryTTL after the last subscriber left")
	}
}

func TestChannelLimit(t *testing.T) {
	b, _, _ := newBroker(t, Config{MaxChannels: 2})
	publish(t, b, "a", "1")
	publish(t, b, "b", "1")
	if _, err := b.Publish(ctx, "c", []byte("1"), broker.PublishOptions{}); !errors.Is(err, broker.ErrTooManyChannels) {
		t.Fatalf("third channel: %v, want ErrTooManyChannels", err)
	}
	publish(t, b, "a", "2") // existing channels still take publishes
}

func TestChannelByteCap(t *testing.T) {
	b, _, _ := newBroker(t, Config{MaxChannelHistoryBytes: 10 * Cost(100)})
	data := string(make([]byte, 100))
	for i := 0; i < 50; i++ {
		publish(t, b, "c", data)
	}
	pubs, st, _ := b.History(ctx, "c", broker.HistoryOptions{Limit: 100}, nil)
	if len(pubs) != 10 || st.Oldest != 41 || st.Top != 50 {
		t.Fatalf("byte cap: kept %d, state %+v", len(pubs), st)
	}
}

func TestNodeByteCapEvictsOldestFirst(t *testing.T) {
	per := int64(Cost(1000))
	b, _, _ := newBroker(t, Config{MaxHistoryBytes: shardCount * 20 * per})
	data := string(make([]byte, 1000))
	// Far more than the cap, spread over many channels.
	for i := 0; i < 400; i++ {
		for c := 0; c < 10; c++ {
			publish(t, b, fmt.Sprintf("ch%d", c), data)
		}
	}
	st := b.Stats()
	if st.HistoryBytes > shardCount*20*per {
		t.Fatalf("history holds %d bytes, over the cap %d", st.HistoryBytes, shardCount*20*per)
	}
	if st.Evicted == 0 {
		t.Fatal("nothing evicted")
	}
	// Every channel still holds a consecutive tail ending at its top: the
	// oldest messages went first, and the state says where history starts.
	for c := 0; c < 10; c++ {
		pubs, st, _ := b.History(ctx, fmt.Sprintf("ch%d", c), broker.HistoryOptions{Limit: 1000}, nil)
		if st.Top != 400 || (len(pubs) > 0 && (pubs[0].Seq != st.Oldest || pubs[len(pubs)-1].Seq != 400)) {
			t.Fatalf("ch%d: state %+v, %d pubs", c, st, len(pubs))
		}
	}
}

func TestIdempotentPublish(t *testing.T) {
	b, rec, clock := newBroker(t, Config{IdempotencyWindow: time.Minute})
	_ = b.Subscribe(ctx, "c")
	opts := broker.PublishOptions{IdempotencyKey: "k1"}
	first, _ := b.Publish(ctx, "c", []byte("1"), opts)
	again, _ := b.Publish(ctx, "c", []byte("1"), opts)
	if first != again {
		t.Fatalf("retry got %+v, first %+v", again, first)
	}
	if n := len(rec.seqs("c")); n != 1 {
		t.Fatalf("retry delivered again: %d deliveries", n)
	}
	if _, st, _ := b.History(ctx, "c", broker.HistoryOptions{}, nil); st.Top != 1 {
		t.Fatalf("retry stored again: top %d", st.Top)
	}
	clock.Advance(2 * time.Minute)
	late, _ := b.Publish(ctx, "c", []byte("1"), opts)
	if late.Seq != 2 {
		t.Fatalf("a key past its window must publish anew: %+v", late)
	}
}

func TestPresence(t *testing.T) {
	clock := newFakeClock()
	p := NewPresence(clock.Now)
	add := func(conn, user string) {
		info := broker.PresenceInfo{ClientInfo: broker.ClientInfo{User: user, Conn: conn}}
		if _, err := p.AddPresence(ctx, "room", info, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	add("c1", "alice")
	add("c2", "alice")
	add("c3", "bob")
	st, _ := p.PresenceStats(ctx, "room")
	if st.Connections != 3 || st.Users != 2 {
		t.Fatalf("stats %+v", st)
	}
	_, _ = p.RemovePresence(ctx, "room", "c3")
	clock.Advance(5 * time.Second)
	add("c1", "alice") // refreshed
	clock.Advance(6 * time.Second)
	got, _ := p.Presence(ctx, "room", nil)
	if len(got) != 1 || got[0].Conn != "c1" {
		t.Fatalf("after expiry: %+v", got)
	}
}

// Messages that leave history by a channel's own caps must not be kept
// alive by the node-wide eviction queue: it stays within about twice what
// history holds.
func TestEvictionQueueHoldsNoDroppedMessages(t *testing.T) {
	b, _, _ := newBroker(t, Config{MaxChannelHistoryBytes: 3 * Cost(1000)})
	data := string(make([]byte, 1000))
	for i := 0; i < 2000; i++ {
		publish(t, b, fmt.Sprintf("ch%d", i%40), data)
	}
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		queued, kept := len(sh.fifo)-sh.head, sh.kept
		total := 0
		for _, ch := range sh.channels {
			total += ch.hist.n
		}
		sh.mu.Unlock()
		if kept != total {
			t.Fatalf("shard %d counts %d kept messages, its histories hold %d", i, kept, total)
		}
		if queued > 2*kept+8 {
			t.Fatalf("shard %d queues %d entries for %d kept messages", i, queued, kept)
		}
	}
}
