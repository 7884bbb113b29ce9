package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/internal/testredis"
)

// killPubSub cuts every pub/sub connection of srv and returns how many.
func killPubSub(t testing.TB, srv *testredis.Server) int64 {
	t.Helper()
	v, err := srv.Do("CLIENT", "KILL", "TYPE", "pubsub")
	if err != nil {
		t.Fatalf("CLIENT KILL TYPE pubsub: %v", err)
	}
	n, _ := v.(int64)
	return n
}

// publishAll publishes n publications round-robin over channels from pub,
// calling between(i) before the i-th; it returns each channel's last
// position.
func publishAll(t *testing.T, pub *Broker, channels []string, n int, between func(i int)) map[string]broker.Position {
	t.Helper()
	last := make(map[string]broker.Position)
	for i := range n {
		between(i)
		ch := channels[i%len(channels)]
		pos, err := pub.Publish(context.Background(), ch, []byte(strconv.Itoa(i)), broker.PublishOptions{})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		last[ch] = pos
	}
	return last
}

// checkExactlyOnce waits until every channel got everything up to its last
// position and checks it got each seq once, in order, in one epoch.
func checkExactlyOnce(t *testing.T, rec *brokertest.Recorder, last map[string]broker.Position) {
	t.Helper()
	for ch, pos := range last {
		got := rec.Wait(t, ch, int(pos.Seq))
		if len(got) != int(pos.Seq) {
			t.Fatalf("%s: %d deliveries, want %d", ch, len(got), pos.Seq)
		}
		for i, p := range got {
			if p.Seq != uint64(i+1) || p.Epoch != pos.Epoch {
				t.Fatalf("%s: delivery %d is seq %d of %q, want %d of %q", ch, i, p.Seq, p.Epoch, i+1, pos.Epoch)
			}
		}
	}
}

// The pub/sub connection is cut again and again while a publisher (another
// node) runs: the node still gets every publication once, in order.
func TestLinkCutWhilePublishing(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.HistorySize = 100000 // the outages must fit in history
	sub, rec := started(t, cfg)
	pub := open(t, cfg)

	channels := make([]string, 8)
	for i := range channels {
		channels[i] = "room:" + strconv.Itoa(i)
		if err := sub.Subscribe(context.Background(), channels[i]); err != nil {
			t.Fatal(err)
		}
	}
	var killed int64
	last := publishAll(t, pub, channels, 4000, func(i int) {
		if i%500 == 250 {
			killed += killPubSub(t, srv)
		}
	})
	checkExactlyOnce(t, rec, last)
	if killed == 0 {
		t.Fatal("no pub/sub connection was killed")
	}
	st := sub.Stats()
	if st.Reconnects == 0 || st.Recoveries == 0 {
		t.Fatalf("stats %+v: want reconnects and recoveries", st)
	}
	t.Logf("killed %d connections; %+v", killed, st)
}

// Publishers run concurrently on several channels while the connection is
// cut: order per channel holds whatever the interleaving.
func TestLinkCutConcurrentPublishers(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.HistorySize = 100000
	sub, rec := started(t, cfg)
	pub := open(t, cfg)
	const publishers, each = 4, 400
	for g := range publishers {
		if err := sub.Subscribe(context.Background(), "c"+strconv.Itoa(g)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := make(map[string]broker.Position)
	errs := make(chan error, publishers)
	for g := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := "c" + strconv.Itoa(g)
			for i := range each {
				pos, err := pub.Publish(context.Background(), ch, []byte(strconv.Itoa(i)), broker.PublishOptions{})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				last[ch] = pos
				mu.Unlock()
			}
		}()
	}
	for range 3 {
		// Cut while the publishers are mid-way: wait for a delivery, then cut.
		before := len(rec.Got("c0"))
		rec.Wait(t, "c0", min(before+50, each))
		killPubSub(t, srv)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rec, last)
}

// A seq jump on a live connection (here: a publication whose pub/sub
// message went nowhere) is read back from history before the next one.
func TestGapOnLiveLinkIsReadBack(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b, rec := started(t, testConfig(srv.Addr()))
	if err := b.Subscribe(context.Background(), "ch"); err != nil {
		t.Fatal(err)
	}
	pos1, _ := b.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
	// Publish 2 through the script with a topic nobody listens to.
	k, _ := b.keysFor("ch", "", 0)
	res := publishScript.Exec(context.Background(), b.client, []string{k.meta, k.stream, k.meta},
		[]string{"", newEpoch(), string(appendBlob(nil, []byte(`2`), nil, "")), b.argSize, b.argTTL, b.argMetaTTL, "0", "elsewhere", b.pubCmd, "0"})
	if err := res.Error(); err != nil {
		t.Fatal(err)
	}
	b.Publish(context.Background(), "ch", []byte(`3`), broker.PublishOptions{})
	got := rec.Wait(t, "ch", 3)
	for i, p := range got {
		if p.Seq != uint64(i+1) || string(p.Data) != strconv.Itoa(i+1) || p.Epoch != pos1.Epoch {
			t.Fatalf("delivery %d: seq %d data %s", i, p.Seq, p.Data)
		}
	}
	// The read back may also bring 3 (stored by then); it is delivered once.
	if st := b.Stats(); st.Gaps != 1 || st.Recovered < 1 || st.Delivered != 3 {
		t.Fatalf("stats %+v: want 1 gap, 3 delivered, some recovered", st)
	}
}

// Subscribe with Redis down fails with ErrUnavailable and holds nothing;
// once Redis is back, Subscribe works.
func TestSubscribeWhileDown(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.Timeout = 300 * time.Millisecond
	b, rec := started(t, cfg)
	srv.Kill()
	err := b.Subscribe(context.Background(), "ch")
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Subscribe with Redis down: %v, want ErrUnavailable", err)
	}
	if n := b.Stats().Channels; n != 0 {
		t.Fatalf("a failed Subscribe left %d channels", n)
	}
	srv.Restart()
	eventually(t, "subscribe after restart", func() bool { return b.Subscribe(context.Background(), "ch") == nil })
	// The first call on a pooled connection that died with the server may
	// fail (nothing stored); the next goes through.
	var pos broker.Position
	eventually(t, "publish after restart", func() bool {
		var err error
		pos, err = b.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
		return err == nil
	})
	if got := rec.Wait(t, "ch", 1); got[0].Seq != pos.Seq {
		t.Fatalf("delivered seq %d, want %d", got[0].Seq, pos.Seq)
	}
}

// A channel without history loses what its link missed: after the
// reconnect the next publication arrives as a jump, and the engine does
// not keep reading a history that has nothing.
func TestLinkCutWithoutHistory(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	sub, rec := started(t, cfg)
	pub := open(t, cfg)
	if err := sub.Subscribe(context.Background(), "ch"); err != nil {
		t.Fatal(err)
	}
	none := broker.PublishOptions{HistorySize: -1}
	pub.Publish(context.Background(), "ch", []byte(`1`), none)
	rec.Wait(t, "ch", 1)
	killPubSub(t, srv)
	pub.Publish(context.Background(), "ch", []byte(`2`), none)
	eventually(t, "reconnect", func() bool { st := sub.Stats(); return st.Reconnects > 0 && st.LinksUp == 1 })
	last, _ := pub.Publish(context.Background(), "ch", []byte(`3`), none)
	eventually(t, "delivery after the reconnect", func() bool {
		got := rec.Got("ch")
		return got[len(got)-1].Seq == last.Seq
	})
	if n := sub.Stats().Recoveries; n > 10 {
		t.Fatalf("%d history reads for one lost link", n)
	}
}

// One pub/sub connection per node, however many channels it follows.
func TestOnePubSubConnection(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b, _ := started(t, testConfig(srv.Addr()))
	for i := range 300 {
		if err := b.Subscribe(context.Background(), "ch"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	v, err := srv.Do("CLIENT", "LIST", "TYPE", "pubsub")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(v.(string), "name=comet"); n != 1 {
		t.Fatalf("%d pub/sub connections, want 1:\n%s", n, v)
	}
	if v, _ := srv.Do("PUBSUB", "NUMSUB", b.cfg.Prefix+"{ch299}:p"); v.([]any)[1] != int64(1) {
		t.Fatalf("ch299's topic has %v subscribers, want 1", v)
	}
}
