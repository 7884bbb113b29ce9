package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// Options are the engine settings the suite asks for. An engine's
// constructor applies them; the suite relies on nothing else of its
// configuration.
type Options struct {
	// HistorySize and HistoryTTL are the engine's default history bounds.
	HistorySize int
	HistoryTTL  time.Duration
	// IdempotencyWindow is how long idempotency keys are remembered.
	IdempotencyWindow time.Duration
	// Now is the engine's clock for publication times and history and
	// presence expiry.
	Now func() time.Time
}

// NewBroker returns an engine configured from o, not started; the suite
// starts it with its own Handler and closes it when the test ends.
type NewBroker func(t *testing.T, o Options) broker.Broker

// NewPresence returns a presence engine configured from o.
type NewPresence func(t *testing.T, o Options) broker.Presence

// Defaults of the suite's engines.
const (
	DefaultHistorySize = 10
	DefaultHistoryTTL  = time.Minute
)

// env is one subtest's engine, clock and recorder.
type env struct {
	t     *testing.T
	b     broker.Broker
	clock *Clock
	rec   *Recorder
	ctx   context.Context
}

func newEnv(t *testing.T, newBroker NewBroker) *env {
	t.Helper()
	clock := NewClock()
	b := newBroker(t, Options{
		HistorySize:       DefaultHistorySize,
		HistoryTTL:        DefaultHistoryTTL,
		IdempotencyWindow: time.Minute,
		Now:               clock.Now,
	})
	rec := NewRecorder()
	if err := b.Start(rec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		rec.Check(t)
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, b: b, clock: clock, rec: rec, ctx: context.Background()}
}

func (e *env) publish(ch, data string, opts broker.PublishOptions) broker.Position {
	e.t.Helper()
	pos, err := e.b.Publish(e.ctx, ch, []byte(data), opts)
	if err != nil {
		e.t.Fatalf("Publish %s: %v", ch, err)
	}
	return pos
}

func (e *env) history(ch string, after uint64, limit int) ([]*broker.Publication, broker.StreamState) {
	e.t.Helper()
	pubs, st, err := e.b.History(e.ctx, ch, broker.HistoryOptions{After: after, Limit: limit}, nil)
	if err != nil {
		e.t.Fatalf("History %s: %v", ch, err)
	}
	return pubs, st
}

func (e *env) subscribe(ch string) {
	e.t.Helper()
	if err := e.b.Subscribe(e.ctx, ch); err != nil {
		e.t.Fatalf("Subscribe %s: %v", ch, err)
	}
}

func (e *env) unsubscribe(ch string) {
	e.t.Helper()
	if err := e.b.Unsubscribe(e.ctx, ch); err != nil {
		e.t.Fatalf("Unsubscribe %s: %v", ch, err)
	}
}

// Run runs the broker contract against engines from newBroker.
func Run(t *testing.T, newBroker NewBroker) {
	for _, tc := range []struct {
		name string
		f    func(e *env)
	}{
		{"ReadingCreatesNothing", testReadingCreatesNothing},
		{"SeqsAndState", testSeqsAndState},
		{"HistoryAfterAndLimit", testHistoryAfterAndLimit},
		{"HistorySize", testHistorySize},
		{"HistoryTTL", testHistoryTTL},
		{"ChannelsAreIndependent", testChannelsIndependent},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"DeliveryAfterSubscribe", testDeliveryAfterSubscribe},
		{"SubscribeIsCounted", testSubscribeCounted},
		{"Ephemeral", testEphemeral},
		{"Idempotency", testIdempotency},
		{"PublisherAndData", testPublisherAndData},
		{"NamesMayAliasCallerMemory", testNamesAlias},
		{"Conversation", testConversation},
		{"RelayStoresNothing", testRelay},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(newEnv(t, newBroker)) })
	}
}

func testReadingCreatesNothing(e *env) {
	pubs, st := e.history("never", 0, 10)
	if len(pubs) != 0 || st != (broker.StreamState{}) {
		e.t.Fatalf("History of an unknown channel = %d pubs, %+v; want none and a zero state", len(pubs), st)
	}
	e.subscribe("never")
	e.unsubscribe("never")
	if _, st := e.history("never", 0, 10); st != (broker.StreamState{}) {
		e.t.Fatalf("after Subscribe/Unsubscribe: state %+v, want zero", st)
	}
	pos := e.publish("never", `1`, broker.PublishOptions{})
	if pos.Seq != 1 || pos.Epoch == "" {
		e.t.Fatalf("first publish after reads = %+v, want seq 1 with an epoch", pos)
	}
}

func testSeqsAndState(e *env) {
	start := e.clock.Now().UnixMilli()
	var epoch string
	for i := 1; i <= 5; i++ {
		pos := e.publish("ch", strconv.Itoa(i), broker.PublishOptions{})
		if pos.Seq != uint64(i) {
			e.t.Fatalf("publish %d: seq %d", i, pos.Seq)
		}
		if i == 1 {
			epoch = pos.Epoch
		} else if pos.Epoch != epoch {
			e.t.Fatalf("publish %d: epoch %q changed from %q", i, pos.Epoch, epoch)
		}
	}
	pubs, st := e.history("ch", 0, 100)
	if st.Epoch != epoch || st.Top != 5 || st.Oldest != 1 || st.Created < start {
		e.t.Fatalf("state = %+v; want epoch %q, top 5, oldest 1, created >= %d", st, epoch, start)
	}
	if len(pubs) != 5 {
		e.t.Fatalf("history holds %d, want 5", len(pubs))
	}
	for i, p := range pubs {
		if p.Channel != "ch" || p.Epoch != epoch || p.Seq != uint64(i+1) || string(p.Data) != strconv.Itoa(i+1) || p.Time < start {
			e.t.Fatalf("history[%d] = %s %q seq %d data %q time %d", i, p.Channel, p.Epoch, p.Seq, p.Data, p.Time)
		}
	}
}

func testHistoryAfterAndLimit(e *env) {
	for i := 1; i <= 8; i++ {
		e.publish("ch", strconv.Itoa(i), broker.PublishOptions{})
	}
	pubs, st := e.history("ch", 3, 2)
	if len(pubs) != 2 || pubs[0].Seq != 4 || pubs[1].Seq != 5 {
		e.t.Fatalf("after 3 limit 2: %v", seqs(pubs))
	}
	if st.Top != 8 || st.Oldest != 1 {
		e.t.Fatalf("state %+v, want top 8 oldest 1", st)
	}
	if pubs, st := e.history("ch", 0, 0); len(pubs) != 0 || st.Top != 8 {
		e.t.Fatalf("limit 0: %d pubs, state %+v; want none and top 8", len(pubs), st)
	}
	if pubs, _ := e.history("ch", 8, 10); len(pubs) != 0 {
		e.t.Fatalf("after top: %v, want none", seqs(pubs))
	}
	if pubs, _ := e.history("ch", 100, 10); len(pubs) != 0 {
		e.t.Fatalf("after beyond top: %v, want none", seqs(pubs))
	}
	// dst is appended to.
	dst := []*broker.Publication{{Channel: "sentinel"}}
	dst, _, err := e.b.History(e.ctx, "ch", broker.HistoryOptions{After: 6, Limit: 10}, dst)
	if err != nil || len(dst) != 3 || dst[0].Channel != "sentinel" || dst[1].Seq != 7 || dst[2].Seq != 8 {
		e.t.Fatalf("History into dst = %v, %v", seqs(dst), err)
	}
}

func testHistorySize(e *env) {
	for i := 1; i <= DefaultHistorySize+5; i++ {
		e.publish("ch", strconv.Itoa(i), broker.PublishOptions{})
	}
	pubs, st := e.history("ch", 0, 100)
	if len(pubs) != DefaultHistorySize || st.Oldest != 6 || pubs[0].Seq != 6 || st.Top != DefaultHistorySize+5 {
		e.t.Fatalf("size %d: kept %v, state %+v; want 6..%d", DefaultHistorySize, seqs(pubs), st, DefaultHistorySize+5)
	}
	// A smaller bound given with the publish.
	for i := 1; i <= 6; i++ {
		e.publish("small", strconv.Itoa(i), broker.PublishOptions{HistorySize: 3})
	}
	if pubs, st := e.history("small", 0, 100); len(pubs) != 3 || st.Oldest != 4 || st.Top != 6 {
		e.t.Fatalf("HistorySize 3: kept %v, state %+v", seqs(pubs), st)
	}
	// No history at all: positions still advance.
	for i := 1; i <= 3; i++ {
		if pos := e.publish("none", strconv.Itoa(i), broker.PublishOptions{HistorySize: -1}); pos.Seq != uint64(i) {
			e.t.Fatalf("no history: publish %d got seq %d", i, pos.Seq)
		}
	}
	if pubs, st := e.history("none", 0, 100); len(pubs) != 0 || st.Oldest != 0 || st.Top != 3 {
		e.t.Fatalf("HistorySize -1: kept %v, state %+v; want none, top 3", seqs(pubs), st)
	}
}

func testHistoryTTL(e *env) {
	a := e.publish("ch", `"a"`, broker.PublishOptions{})
	e.clock.Advance(DefaultHistoryTTL * 2 / 3)
	e.publish("ch", `"b"`, broker.PublishOptions{})
	e.clock.Advance(DefaultHistoryTTL / 2) // a is past the ttl, b is not
	pubs, st := e.history("ch", 0, 100)
	if len(pubs) != 1 || pubs[0].Seq != 2 || st.Oldest != 2 || st.Top != 2 || st.Epoch != a.Epoch {
		e.t.Fatalf("after a expired: %v, state %+v; want [2], oldest 2, top 2", seqs(pubs), st)
	}
	e.clock.Advance(DefaultHistoryTTL)
	pubs, st = e.history("ch", 0, 100)
	if len(pubs) != 0 || st.Oldest != 0 {
		e.t.Fatalf("after both expired: %v, state %+v; want none", seqs(pubs), st)
	}
	// The engine may keep the position past the history, or drop the
	// channel; it never reports a top without its epoch.
	if st.Epoch == a.Epoch && st.Top != 2 || st.Epoch != a.Epoch && st != (broker.StreamState{}) {
		e.t.Fatalf("after both expired: state %+v; want epoch %q top 2, or nothing", st, a.Epoch)
	}
	pos := e.publish("ch", `"c"`, broker.PublishOptions{})
	if pos.Epoch == a.Epoch && pos.Seq != 3 || pos.Epoch != a.Epoch && pos.Seq != 1 {
		e.t.Fatalf("publish after expiry = %+v; want seq 3 of %q or seq 1 of a new epoch", pos, a.Epoch)
	}

	// A shorter ttl given with the publish.
	e.publish("short", `1`, broker.PublishOptions{HistoryTTL: DefaultHistoryTTL / 10})
	e.clock.Advance(DefaultHistoryTTL / 5)
	if pubs, st := e.history("short", 0, 100); len(pubs) != 0 || st.Oldest != 0 {
		e.t.Fatalf("HistoryTTL %v: kept %v, state %+v", DefaultHistoryTTL/10, seqs(pubs), st)
	}
}

func testChannelsIndependent(e *env) {
	a1 := e.publish("a", `1`, broker.PublishOptions{})
	b1 := e.publish("b", `1`, broker.PublishOptions{})
	a2 := e.publish("a", `2`, broker.PublishOptions{})
	if a1.Seq != 1 || b1.Seq != 1 || a2.Seq != 2 {
		e.t.Fatalf("seqs a1 %d b1 %d a2 %d; want 1 1 2", a1.Seq, b1.Seq, a2.Seq)
	}
	if pubs, _ := e.history("b", 0, 10); len(pubs) != 1 || string(pubs[0].Data) != "1" {
		e.t.Fatalf("b's history %v", seqs(pubs))
	}
}

func testConcurrentPublishers(e *env) {
	const publishers, each = 8, 25
	e.subscribe("busy")
	var wg sync.WaitGroup
	positions := make(chan broker.Position, publishers*each)
	errs := make(chan error, publishers)
	for g := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				pos, err := e.b.Publish(e.ctx, "busy", fmt.Appendf(nil, `[%d,%d]`, g, i), broker.PublishOptions{HistorySize: publishers * each})
				if err != nil {
					errs <- err
					return
				}
				positions <- pos
			}
		}()
	}
	wg.Wait()
	close(positions)
	close(errs)
	for err := range errs {
		e.t.Fatal(err)
	}
	seen := make(map[uint64]bool)
	var epoch string
	for pos := range positions {
		if seen[pos.Seq] {
			e.t.Fatalf("seq %d given twice", pos.Seq)
		}
		seen[pos.Seq] = true
		if epoch == "" {
			epoch = pos.Epoch
		} else if pos.Epoch != epoch {
			e.t.Fatalf("epochs %q and %q in one stream", epoch, pos.Epoch)
		}
	}
	for s := uint64(1); s <= publishers*each; s++ {
		if !seen[s] {
			e.t.Fatalf("seq %d never given", s)
		}
	}
	got := e.rec.Wait(e.t, "busy", publishers*each)
	if len(got) != publishers*each {
		e.t.Fatalf("delivered %d, want %d", len(got), publishers*each)
	}
	for i, p := range got {
		if p.Seq != uint64(i+1) || p.Epoch != epoch {
			e.t.Fatalf("delivery %d: seq %d of %q; want %d of %q", i, p.Seq, p.Epoch, i+1, epoch)
		}
	}
	pubs, _ := e.history("busy", 0, publishers*each)
	for i, p := range pubs {
		if !bytes.Equal(p.Data, got[i].Data) {
			e.t.Fatalf("seq %d: history %s, delivered %s", p.Seq, p.Data, got[i].Data)
		}
	}
}

// A publication stored after Subscribe returns is delivered: even on a
// channel the node just started to follow.
func testDeliveryAfterSubscribe(e *env) {
	const n = 20
	for i := range n {
		ch := "fresh" + strconv.Itoa(i)
		if i%2 == 1 {
			e.publish(ch, `"before"`, broker.PublishOptions{}) // an existing stream
		}
		e.subscribe(ch)
		pos := e.publish(ch, `"after"`, broker.PublishOptions{})
		got := e.rec.Wait(e.t, ch, 1)
		last := got[len(got)-1]
		if last.Seq != pos.Seq || last.Epoch != pos.Epoch || string(last.Data) != `"after"` || last.Channel != ch {
			e.t.Fatalf("%s: delivered %s seq %d %q, want seq %d %q", ch, last.Channel, last.Seq, last.Data, pos.Seq, pos.Epoch)
		}
	}
	// Two channels interleaved: each in its own order.
	e.subscribe("x")
	e.subscribe("y")
	for i := 1; i <= 10; i++ {
		e.publish("x", strconv.Itoa(i), broker.PublishOptions{})
		e.publish("y", strconv.Itoa(i), broker.PublishOptions{})
	}
	for _, ch := range []string{"x", "y"} {
		got := e.rec.Wait(e.t, ch, 10)
		for i, p := range got {
			if p.Seq != uint64(i+1) || string(p.Data) != strconv.Itoa(i+1) {
				e.t.Fatalf("%s delivery %d: seq %d data %s", ch, i, p.Seq, p.Data)
			}
		}
	}
}

func testSubscribeCounted(e *env) {
	e.subscribe("ch")
	e.subscribe("ch")
	e.subscribe("marker")
	e.unsubscribe("ch")
	e.publish("ch", `1`, broker.PublishOptions{})
	e.rec.Wait(e.t, "ch", 1)
	e.unsubscribe("ch")
	e.publish("ch", `2`, broker.PublishOptions{})
	// A marker on a channel still subscribed, published after: once it
	// is delivered, the withdrawn channel has had its chance to leak.
	e.publish("marker", `1`, broker.PublishOptions{})
	e.rec.Wait(e.t, "marker", 1)
	if got := e.rec.Got("ch"); len(got) != 1 {
		e.t.Fatalf("delivered %d publications after the last Unsubscribe, want none", len(got)-1)
	}
	// Subscribing again delivers again.
	e.subscribe("ch")
	e.publish("ch", `3`, broker.PublishOptions{})
	got := e.rec.Wait(e.t, "ch", 2)
	if got[1].Seq != 3 {
		e.t.Fatalf("after resubscribing: seq %d, want 3", got[1].Seq)
	}
	// An Unsubscribe without a Subscribe is harmless.
	e.unsubscribe("never-subscribed")
}

func testEphemeral(e *env) {
	e.subscribe("ch")
	e.publish("ch", `1`, broker.PublishOptions{})
	pos := e.publish("ch", `"typing"`, broker.PublishOptions{Ephemeral: true})
	if pos.Seq != 0 {
		e.t.Fatalf("ephemeral position %+v, want seq 0", pos)
	}
	e.publish("ch", `2`, broker.PublishOptions{})
	got := e.rec.Wait(e.t, "ch", 3)
	if got[0].Seq != 1 || got[1].Seq != 0 || string(got[1].Data) != `"typing"` || got[2].Seq != 2 {
		e.t.Fatalf("deliveries %v; want seqs 1, 0 (ephemeral), 2 in publish order", seqs(got))
	}
	pubs, st := e.history("ch", 0, 100)
	if len(pubs) != 2 || st.Top != 2 {
		e.t.Fatalf("history %v top %d; want [1 2] and top 2", seqs(pubs), st.Top)
	}
	// An ephemeral publish to a channel without a stream creates none.
	e.publish("ghost", `1`, broker.PublishOptions{Ephemeral: true})
	if _, st := e.history("ghost", 0, 10); st != (broker.StreamState{}) {
		e.t.Fatalf("ephemeral publish created a stream: %+v", st)
	}
}

func testIdempotency(e *env) {
	first := e.publish("ch", `"once"`, broker.PublishOptions{IdempotencyKey: "k1"})
	again := e.publish("ch", `"twice"`, broker.PublishOptions{IdempotencyKey: "k1"})
	if again != first {
		e.t.Fatalf("retry with the same key = %+v, want the first %+v", again, first)
	}
	other := e.publish("ch", `"other"`, broker.PublishOptions{IdempotencyKey: "k2"})
	if other.Seq != first.Seq+1 {
		e.t.Fatalf("another key: seq %d, want %d", other.Seq, first.Seq+1)
	}
	pubs, st := e.history("ch", 0, 100)
	if len(pubs) != 2 || string(pubs[0].Data) != `"once"` || st.Top != 2 {
		e.t.Fatalf("history %v top %d; want the first and the other only", seqs(pubs), st.Top)
	}
	// Keys are per channel.
	if pos := e.publish("ch2", `1`, broker.PublishOptions{IdempotencyKey: "k1"}); pos.Seq != 1 {
		e.t.Fatalf("same key on another channel = %+v, want its own seq 1", pos)
	}
}

func testPublisherAndData(e *env) {
	e.subscribe("ch")
	who := &broker.ClientInfo{User: "alice", Client: "phone-1", Conn: "c-42"}
	data := `{"text":"héllo \u2603 \"quoted\"","n":[1,2,3]}`
	pos := e.publish("ch", data, broker.PublishOptions{Publisher: who})
	e.publish("ch", `"anon"`, broker.PublishOptions{})
	got := e.rec.Wait(e.t, "ch", 2)
	pubs, _ := e.history("ch", 0, 10)
	for _, ps := range [][]*broker.Publication{got, pubs} {
		p := ps[0]
		if p.Seq != pos.Seq || string(p.Data) != data || p.Publisher == nil || *p.Publisher != *who {
			e.t.Fatalf("publication %d %s publisher %+v; want %d %s %+v", p.Seq, p.Data, p.Publisher, pos.Seq, data, who)
		}
		if ps[1].Publisher != nil {
			e.t.Fatalf("anonymous publication has publisher %+v", ps[1].Publisher)
		}
	}
}

func testNamesAlias(e *env) {
	buf := []byte("alias")
	name := string(buf) // what the caller meant
	view := unsafeString(buf)
	if err := e.b.Subscribe(e.ctx, view); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.b.Publish(e.ctx, view, []byte(`1`), broker.PublishOptions{}); err != nil {
		e.t.Fatal(err)
	}
	copy(buf, "XXXXX")
	got := e.rec.Wait(e.t, name, 1)
	if got[0].Channel != name {
		e.t.Fatalf("delivered on %q, want %q", got[0].Channel, name)
	}
	if _, st := e.history(name, 0, 10); st.Top != 1 {
		e.t.Fatalf("history of %q: top %d, want 1", name, st.Top)
	}
	e.publish(name, `2`, broker.PublishOptions{})
	if got := e.rec.Wait(e.t, name, 2); got[1].Seq != 2 {
		e.t.Fatalf("after the caller's buffer changed: seq %d, want 2", got[1].Seq)
	}
}

func seqs(pubs []*broker.Publication) []uint64 {
	s := make([]uint64, len(pubs))
	for i, p := range pubs {
		s[i] = p.Seq
	}
	return s
}

func testConversation(e *env) {
	e.subscribe("ch")
	who := &broker.ClientInfo{User: "bob"}
	e.publish("ch", `"dm"`, broker.PublishOptions{Publisher: who, Conversation: "dm:3:bob:carol"})
	e.publish("ch", `"plain"`, broker.PublishOptions{})
	e.publish("ch", `"typing"`, broker.PublishOptions{Ephemeral: true, Conversation: "dm:3:bob:carol"})
	got := e.rec.Wait(e.t, "ch", 3)
	pubs, _ := e.history("ch", 0, 10)
	for _, ps := range [][]*broker.Publication{got[:2], pubs} {
		if ps[0].Conversation != "dm:3:bob:carol" || ps[0].Publisher == nil || ps[0].Publisher.User != "bob" || ps[1].Conversation != "" {
			e.t.Fatalf("conversations %q, %q; want the DM's, then none", ps[0].Conversation, ps[1].Conversation)
		}
	}
	if got[2].Conversation != "dm:3:bob:carol" {
		e.t.Fatalf("ephemeral conversation %q", got[2].Conversation)
	}
}

func testRelay(e *env) {
	e.subscribe("user:a")
	at := broker.Position{Epoch: "inbox-7", Seq: 41}
	const stored = 1_700_000_000_123 // the stored publication's time, not the relay's clock
	pos := e.publish("user:a", `"stored elsewhere"`, broker.PublishOptions{At: &at, Conversation: "c",
		Publisher: &broker.ClientInfo{User: "b"}, IdempotencyKey: "ignored", Time: stored})
	if pos != at {
		e.t.Fatalf("relay returned %+v, want %+v", pos, at)
	}
	got := e.rec.Wait(e.t, "user:a", 1)
	if p := got[0]; p.Epoch != at.Epoch || p.Seq != at.Seq || string(p.Data) != `"stored elsewhere"` ||
		p.Conversation != "c" || p.Publisher == nil || p.Publisher.User != "b" || p.Time != stored {
		e.t.Fatalf("relayed %+v", p)
	}
	if pubs, st := e.history("user:a", 0, 10); len(pubs) != 0 || st != (broker.StreamState{}) {
		e.t.Fatalf("a relay stored something: %v %+v", seqs(pubs), st)
	}
	// A relay to a channel nobody subscribed to goes nowhere, and fails not.
	e.publish("user:nobody", `1`, broker.PublishOptions{At: &at})
}
