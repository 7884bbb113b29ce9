package redis

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/internal/testredis"
)

// A node restarting (a new client) finds the channel's epoch and seq where
// the last one left them: they live in Redis.
func TestEpochSurvivesNodeRestart(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	first := open(t, cfg)
	p1, err := first.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first.Close(context.Background())
	second := open(t, cfg)
	p2, err := second.Publish(context.Background(), "ch", []byte(`2`), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Epoch != p1.Epoch || p2.Seq != 2 {
		t.Fatalf("after a node restart: %+v, want seq 2 of %q", p2, p1.Epoch)
	}
	pubs, st, err := second.History(context.Background(), "ch", broker.HistoryOptions{Limit: 10}, nil)
	if err != nil || len(pubs) != 2 || st.Epoch != p1.Epoch {
		t.Fatalf("history %d pubs, %+v, %v", len(pubs), st, err)
	}
}

// With the append-only file fsynced on every write, Redis killed outright
// and restarted loses nothing that was acknowledged: epoch, seq and
// history are all there, and a subscribed node catches up by itself.
func TestRedisKilledWithAOFAlways(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{AppendFsync: "always"})
	cfg := testConfig(srv.Addr())
	sub, rec := started(t, cfg)
	pub := open(t, cfg)
	if err := sub.Subscribe(context.Background(), "ch"); err != nil {
		t.Fatal(err)
	}
	var acked []broker.Position
	publish := func(i int) error {
		// Retried with the same idempotency key, as a client retries a
		// send whose answer it never got.
		pos, err := pub.Publish(context.Background(), "ch", []byte(strconv.Itoa(i)), broker.PublishOptions{IdempotencyKey: "msg-" + strconv.Itoa(i)})
		if err == nil {
			acked = append(acked, pos)
		}
		return err
	}
	for i := range 50 {
		if err := publish(i); err != nil {
			t.Fatal(err)
		}
	}
	srv.Kill()
	// Down: publishes fail with ErrUnavailable, never a position.
	if err := publish(50); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("publish with Redis down: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	for i := 50; i < 100; i++ {
		eventually(t, "publish after restart", func() bool { return publish(i) == nil })
	}
	for i, pos := range acked {
		if pos.Epoch != acked[0].Epoch || pos.Seq != uint64(i+1) {
			t.Fatalf("ack %d = %+v; want seq %d of %q", i, pos, i+1, acked[0].Epoch)
		}
	}
	pubs, st, err := pub.History(context.Background(), "ch", broker.HistoryOptions{Limit: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != acked[0].Epoch || st.Top != 100 || len(pubs) != 100 {
		t.Fatalf("after the restart: state %+v, %d in history; want top 100, all kept", st, len(pubs))
	}
	checkExactlyOnce(t, rec, map[string]broker.Position{"ch": acked[len(acked)-1]})
}

// With everysec the loss window is about a second of writes; a graceful
// stop (SIGTERM) still flushes everything.
func TestRedisRestartWithAOFEverysec(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{AppendFsync: "everysec"})
	b := open(t, testConfig(srv.Addr()))
	p1, err := b.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	var p2 broker.Position
	eventually(t, "publish after restart", func() bool {
		p2, err = b.Publish(context.Background(), "ch", []byte(`2`), broker.PublishOptions{})
		return err == nil
	})
	if p2.Epoch != p1.Epoch || p2.Seq != 2 {
		t.Fatalf("after a graceful restart: %+v, want seq 2 of %q", p2, p1.Epoch)
	}
}

// Without persistence a restart forgets the channel: the next publish
// starts a new epoch, which a subscribed node passes on (the node treats
// it as a gap).
func TestRedisRestartWithoutPersistenceStartsNewEpoch(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	sub, rec := started(t, testConfig(srv.Addr()))
	if err := sub.Subscribe(context.Background(), "ch"); err != nil {
		t.Fatal(err)
	}
	p1, _ := sub.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
	rec.Wait(t, "ch", 1)
	srv.Restart()
	var p2 broker.Position
	eventually(t, "publish after restart", func() bool {
		var err error
		p2, err = sub.Publish(context.Background(), "ch", []byte(`2`), broker.PublishOptions{})
		return err == nil
	})
	if p2.Epoch == p1.Epoch || p2.Seq != 1 {
		t.Fatalf("after losing the data: %+v, want seq 1 of a new epoch", p2)
	}
	got := rec.Wait(t, "ch", 2)
	if got[1].Epoch != p2.Epoch || got[1].Seq != 1 {
		t.Fatalf("delivered %+v, want seq 1 of the new epoch", got[1])
	}
}

// Redis unreachable: calls fail with ErrUnavailable within the timeout,
// both when the port refuses (down) and when the server hangs (stopped).
func TestUnavailable(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.Timeout = 200 * time.Millisecond
	b := open(t, cfg) // connected: New fails when Redis does not answer
	check := func(state string) {
		t.Helper()
		begin := time.Now()
		_, err := b.Publish(context.Background(), "ch", []byte(`2`), broker.PublishOptions{})
		if !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("%s: Publish = %v, want ErrUnavailable", state, err)
		}
		if _, _, err := b.History(context.Background(), "ch", broker.HistoryOptions{Limit: 1}, nil); !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("%s: History = %v, want ErrUnavailable", state, err)
		}
		if _, err := b.AddPresence(context.Background(), "ch", broker.PresenceInfo{}, time.Second); !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("%s: AddPresence = %v, want ErrUnavailable", state, err)
		}
		if err := b.Ready(context.Background()); !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("%s: Ready = %v, want ErrUnavailable", state, err)
		}
		// Bounded, not fast: four calls, each within the timeout plus
		// scheduling on a busy machine.
		if d := time.Since(begin); d > 20*cfg.Timeout {
			t.Fatalf("%s: four calls took %v with a %v timeout", state, d, cfg.Timeout)
		}
	}
	// Hung: the process is stopped, connections stay open, nothing answers.
	syscall.Kill(srv.Pid(), syscall.SIGSTOP)
	check("stopped")
	syscall.Kill(srv.Pid(), syscall.SIGCONT)
	srv.Kill()
	check("down")
	srv.Restart()
	eventually(t, "publish after restart", func() bool {
		_, err := b.Publish(context.Background(), "ch", []byte(`3`), broker.PublishOptions{})
		return err == nil
	})
}

func TestClosed(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	b, _ := started(t, testConfig(srv.Addr()))
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	_, err1 := b.Publish(ctx, "ch", []byte(`1`), broker.PublishOptions{})
	_, _, err2 := b.History(ctx, "ch", broker.HistoryOptions{}, nil)
	err3 := b.Subscribe(ctx, "ch")
	err4 := b.Unsubscribe(ctx, "ch")
	_, err5 := b.AddPresence(ctx, "ch", broker.PresenceInfo{}, time.Second)
	_, err6 := b.PresenceStats(ctx, "ch")
	err7 := b.Start(nopHandler{})
	for i, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
		if !errors.Is(err, broker.ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i+1, err)
		}
	}
}

type nopHandler struct{}

func (nopHandler) OnPublication(*broker.Publication) {}

// A single Redis with a replica: the replica holds the same epochs and
// seqs, so promoting it (here by hand, as Sentinel or an operator would)
// and pointing the nodes at it continues every channel where it was.
func TestReplicaPromoted(t *testing.T) {
	t.Parallel()
	master := testredis.Start(t, testredis.Options{Password: "sekrit"})
	replica := testredis.Start(t, testredis.Options{Password: "sekrit", ReplicaOf: master.Addr()})
	cfg := testConfig(master.Addr())
	cfg.Password = "sekrit"
	b := open(t, cfg)
	var last broker.Position
	for i := range 10 {
		var err error
		if last, err = b.Publish(context.Background(), "ch", []byte(strconv.Itoa(i)), broker.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := master.Do("WAIT", "1", "5000"); err != nil {
		t.Fatal(err)
	}
	master.Kill()
	if _, err := replica.Do("REPLICAOF", "NO", "ONE"); err != nil {
		t.Fatal(err)
	}
	cfg.Addrs = []string{replica.Addr()}
	promoted := open(t, cfg)
	pos, err := promoted.Publish(context.Background(), "ch", []byte(`10`), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pos.Epoch != last.Epoch || pos.Seq != 11 {
		t.Fatalf("on the promoted replica: %+v, want seq 11 of %q", pos, last.Epoch)
	}
	pubs, _, err := promoted.History(context.Background(), "ch", broker.HistoryOptions{Limit: 100}, nil)
	if err != nil || len(pubs) != 11 {
		t.Fatalf("history on the promoted replica: %d, %v", len(pubs), err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{Password: "sekrit"})
	cfg := testConfig(srv.Addr())
	cfg.Password = "wrong"
	if b, err := New(cfg); err == nil {
		b.Close(context.Background())
		t.Fatal("New with a wrong password succeeded")
	}
}

// Over TLS: commands and the pub/sub connection both.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{TLS: true})
	cfg := testConfig(srv.Addr())
	cfg.TLS = srv.TLSConfig()
	b, rec := started(t, cfg)
	if err := b.Subscribe(context.Background(), "ch"); err != nil {
		t.Fatal(err)
	}
	pos, err := b.Publish(context.Background(), "ch", []byte(`1`), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Wait(t, "ch", 1); got[0].Seq != pos.Seq {
		t.Fatalf("delivered seq %d, want %d", got[0].Seq, pos.Seq)
	}
	plain := testConfig(srv.Addr())
	if b, err := New(plain); err == nil {
		b.Close(context.Background())
		t.Fatal("a plain connection to a TLS-only server succeeded")
	}
}
