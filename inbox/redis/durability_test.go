package redis

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/internal/testredis"
)

var bg = context.Background()

func msg(conv, from string, i int) inbox.Message {
	return inbox.Message{Conversation: conv, From: from, Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
}

// eventually polls cond until it holds, failing after a deadline. For
// states with no event to wait on (a restarted Redis accepting writes
// again).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With the append-only file fsynced on every write, Redis killed in the
// middle of a stream of appends and restarted keeps every append that was
// acknowledged, in order, in the same epoch; a publisher that retries the
// append it got no answer for, with its key, stores it exactly once.
func TestRedisKilledWithAOFAlways(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{AppendFsync: "always"})
	s := open(t, testConfig(srv.Addr()))
	to := []string{"alice", "bob"}
	send := func(i int) ([]inbox.Appended, error) {
		m := msg("dm:alice:bob", "bob", i)
		m.Key = "m" + strconv.Itoa(i)
		return s.Append(bg, to, m)
	}
	var acked [][]inbox.Appended
	killed := make(chan struct{})
	var once sync.Once
	next := 0
	// Append until some append fails after the kill; the kill comes from
	// another goroutine at the 100th acknowledgement, mid-stream.
	for ; next < 10_000; next++ {
		a, err := send(next)
		if err != nil {
			if !errors.Is(err, broker.ErrUnavailable) {
				t.Fatalf("append %d with Redis killed: %v, want ErrUnavailable", next, err)
			}
			break
		}
		acked = append(acked, a)
		if len(acked) == 100 {
			once.Do(func() { go func() { srv.Kill(); close(killed) }() })
		}
	}
	<-killed
	srv.Restart()
	// The append that failed, retried with its key, then more.
	for i := next; i < next+20; i++ {
		var a []inbox.Appended
		eventually(t, "append after the restart", func() bool {
			var err error
			a, err = send(i)
			return err == nil
		})
		acked = append(acked, a)
	}
	for u, user := range to {
		st, err := s.State(bg, user)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Read(bg, user, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Top != uint64(len(p.Entries)) || st.Oldest != 1 {
			t.Fatalf("%s after the restart: %+v, %d entries read", user, st, len(p.Entries))
		}
		// Every acknowledged append is there, once, at its seq, in order;
		// at most the one in flight at the kill was stored unacknowledged,
		// and its retry found it.
		got := make(map[string]uint64)
		for _, e := range p.Entries {
			if _, twice := got[e.Key]; twice {
				t.Fatalf("%s: %s stored twice", user, e.Key)
			}
			got[e.Key] = e.Seq
		}
		for i, a := range acked {
			key := "m" + strconv.Itoa(i) // acked[i] answers message i
			if seq, ok := got[key]; !ok || seq != a[u].Seq {
				t.Fatalf("%s: acknowledged %s at seq %d, found at %d (%v)", user, key, a[u].Seq, seq, ok)
			}
		}
		if len(p.Entries) != next+20 {
			t.Fatalf("%s: %d entries, want %d", user, len(p.Entries), next+20)
		}
	}
	if st, _ := s.State(bg, "alice"); st.Epoch == 0 || st.Unread != uint64(next+20) {
		t.Fatalf("alice's state after the restart: %+v", st)
	}
}

// Without persistence a restart forgets the logs: the next append begins
// a new epoch from seq 1, which tells a device holding old positions that
// they mean nothing now.
func TestRedisRestartWithoutPersistenceStartsNewEpoch(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	s := open(t, testConfig(srv.Addr()))
	a1, err := s.Append(bg, []string{"alice"}, msg("room:1", "bob", 1))
	if err != nil {
		t.Fatal(err)
	}
	st1, _ := s.State(bg, "alice")
	srv.Restart()
	var a2 []inbox.Appended
	eventually(t, "append after restart", func() bool {
		a2, err = s.Append(bg, []string{"alice"}, msg("room:1", "bob", 2))
		return err == nil
	})
	st2, err := s.State(bg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a1[0].Seq != 1 || a2[0].Seq != 1 || st2.Epoch == st1.Epoch || st2.Epoch == 0 {
		t.Fatalf("after losing the data: seq %d, epoch %d (before: seq %d, epoch %d)", a2[0].Seq, st2.Epoch, a1[0].Seq, st1.Epoch)
	}
}

// With everysec a graceful restart (SIGTERM: Redis flushes the file)
// keeps everything.
func TestRedisRestartWithAOFEverysec(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{AppendFsync: "everysec"})
	s := open(t, testConfig(srv.Addr()))
	for i := range 10 {
		if _, err := s.Append(bg, []string{"alice"}, msg("room:1", "bob", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Ack(bg, "alice", "phone", 4); err != nil {
		t.Fatal(err)
	}
	before, _ := s.State(bg, "alice")
	srv.Restart()
	var after inbox.State
	eventually(t, "state after restart", func() bool {
		var err error
		after, err = s.State(bg, "alice")
		return err == nil
	})
	if after != before {
		t.Fatalf("after a graceful restart %+v, before %+v", after, before)
	}
	if d, err := s.Device(bg, "alice", "phone"); err != nil || d.Acked != 4 || d.Pending != 6 {
		t.Fatalf("device after restart: %+v, %v", d, err)
	}
}

// A node restarting (a new client) finds the epochs, seqs, devices and
// markers where the last one left them: they live in Redis.
func TestEpochSurvivesNodeRestart(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	first := open(t, cfg)
	if _, err := first.Append(bg, []string{"alice"}, msg("room:1", "bob", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := first.MarkRead(bg, "alice", "room:1", 1); err != nil {
		t.Fatal(err)
	}
	before, _ := first.State(bg, "alice")
	first.Close()
	second := open(t, cfg)
	a, err := second.Append(bg, []string{"alice"}, msg("room:1", "bob", 2))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := second.State(bg, "alice")
	if a[0].Seq != 2 || after.Epoch != before.Epoch || after.Unread != 1 {
		t.Fatalf("after a node restart: seq %d, state %+v; before %+v", a[0].Seq, after, before)
	}
}

// Redis unreachable: every call fails with ErrUnavailable within the
// timeout, both when the server hangs (stopped: connections stay open,
// nothing answers) and when the port refuses (down); nothing is stored.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	cfg.Timeout = 200 * time.Millisecond
	s := open(t, cfg)
	if _, err := s.Append(bg, []string{"alice"}, msg("room:1", "bob", 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(bg); err != nil {
		t.Fatalf("Ready with Redis up: %v", err)
	}
	check := func(state string) {
		t.Helper()
		calls := map[string]func() error{
			"Append":        func() error { return errOf(s.Append(bg, []string{"alice", "bob"}, msg("room:1", "bob", 1))) },
			"Read":          func() error { return errOf(s.Read(bg, "alice", 0, 0)) },
			"State":         func() error { return errOf(s.State(bg, "alice")) },
			"Ack":           func() error { return errOf(s.Ack(bg, "alice", "phone", 1)) },
			"Device":        func() error { return errOf(s.Device(bg, "alice", "phone")) },
			"Devices":       func() error { return errOf(s.Devices(bg, "alice")) },
			"ForgetDevice":  func() error { return s.ForgetDevice(bg, "alice", "phone") },
			"MarkRead":      func() error { return errOf(s.MarkRead(bg, "alice", "room:1", 1)) },
			"Conversation":  func() error { return errOf(s.Conversation(bg, "alice", "room:1")) },
			"Conversations": func() error { return errOf(s.Conversations(bg, "alice", "", 0)) },
			"DeleteUser":    func() error { return s.DeleteUser(bg, "bob") },
			"Users":         func() error { return errOf(s.Users(bg, "", 0)) },
			"Sweep":         func() error { return errOf(s.Sweep(bg)) },
			"Ready":         func() error { return s.Ready(bg) },
		}
		for name, call := range calls {
			begin := time.Now()
			if err := call(); !errors.Is(err, broker.ErrUnavailable) {
				t.Fatalf("%s: %s = %v, want ErrUnavailable", state, name, err)
			}
			// Bounded, not fast: a call and its one retry, each within the
			// timeout, plus scheduling on a busy machine.
			if d := time.Since(begin); d > 10*cfg.Timeout {
				t.Fatalf("%s: %s took %v with a %v timeout", state, name, d, cfg.Timeout)
			}
		}
	}
	syscall.Kill(srv.Pid(), syscall.SIGSTOP)
	check("stopped")
	syscall.Kill(srv.Pid(), syscall.SIGCONT)
	// What the stopped server received it carries out once it runs again
	// (the ambiguous case, where a keyed retry is the answer).
	eventually(t, "the server running again", func() bool { return errOf(s.State(bg, "alice")) == nil })
	srv.Kill()
	check("down")
	srv.Restart()
	eventually(t, "append after restart", func() bool {
		_, err := s.Append(bg, []string{"carol"}, msg("room:1", "bob", 2))
		return err == nil
	})
	if err := s.Ready(bg); err != nil {
		t.Fatalf("Ready after the restart: %v", err)
	}
}

func errOf[T any](_ T, err error) error { return err }

// Nodes appending to one user at once (each its own client, several
// goroutines each) get distinct seqs with no gap, each writer's rising.
func TestConcurrentNodesOneUser(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	cfg := testConfig(srv.Addr())
	concurrentNodes(t, cfg)
}

func concurrentNodes(t *testing.T, cfg Config) {
	const nodes, writers, each = 3, 4, 50
	var stores []*Store
	for range nodes {
		stores = append(stores, open(t, cfg))
	}
	seqs := make([][]uint64, nodes*writers)
	var wg sync.WaitGroup
	for w := range nodes * writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%nodes]
			for i := range each {
				m := msg("room:1", "", w*each+i)
				m.Key = "k" + strconv.Itoa(w*each+i)
				a, err := s.Append(bg, []string{"alice"}, m)
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], a[0].Seq)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for w, ws := range seqs {
		for i := 1; i < len(ws); i++ {
			if ws[i] <= ws[i-1] {
				t.Fatalf("writer %d: seq %d after %d", w, ws[i], ws[i-1])
			}
		}
	}
	p, err := stores[0].Read(bg, "alice", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != nodes*writers*each || p.State.Top != nodes*writers*each {
		t.Fatalf("%d entries, top %d, want %d", len(p.Entries), p.State.Top, nodes*writers*each)
	}
	seen := make(map[string]bool)
	for i, e := range p.Entries {
		if e.Seq != uint64(i+1) || seen[e.Key] {
			t.Fatalf("entry %d: seq %d key %s (seen before: %v)", i, e.Seq, e.Key, seen[e.Key])
		}
		seen[e.Key] = true
	}
}
