package redis

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/inbox/inboxtest"
	"github.com/comet-im/comet/internal/testredis"
)

// One cluster of three masters for the cluster cases: forming one takes
// seconds.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := testredis.StartCluster(t, 3)
	clusterConfig := func() Config {
		cfg := testConfig(c.Addrs()...)
		cfg.Cluster = true
		return cfg
	}
	t.Run("Contract", func(t *testing.T) {
		inboxtest.Run(t, func(t *testing.T, o inboxtest.Options) inbox.Store {
			s, err := New(contractConfig(clusterConfig(), o))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("ConcurrentNodesOneUser", func(t *testing.T) { concurrentNodes(t, clusterConfig()) })
	t.Run("KeysInTheUsersSlot", func(t *testing.T) { testClusterSlots(t, c, clusterConfig()) })
	t.Run("UsersIndexRepairs", func(t *testing.T) { testClusterUsersIndex(t, c, clusterConfig()) })
	// Last: it stops a master for a moment.
	t.Run("FanOutAcrossSlots", func(t *testing.T) { testClusterFanOut(t, c, clusterConfig()) })
}

// owner returns the index of the node that serves key, asking each: the
// others answer MOVED.
func owner(t *testing.T, c *testredis.Cluster, key string) int {
	t.Helper()
	for i, n := range c.Nodes() {
		if _, err := n.Do("EXISTS", key); err == nil {
			return i
		} else if !strings.Contains(err.Error(), " MOVED ") {
			t.Fatalf("EXISTS %s on node %d: %v", key, i, err)
		}
	}
	t.Fatalf("no node serves %s", key)
	return -1
}

// do runs a command on the node that serves key.
func do(t *testing.T, c *testredis.Cluster, key string, args ...string) any {
	t.Helper()
	v, err := c.Nodes()[owner(t, c, key)].Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// usersOnEveryNode returns one user id served by each node, in node
// order.
func usersOnEveryNode(t *testing.T, c *testredis.Cluster, s *Store) []string {
	t.Helper()
	users := make([]string, len(c.Nodes()))
	found := 0
	for i := 0; found < len(users) && i < 1000; i++ {
		u := "user" + strconv.Itoa(i)
		if n := owner(t, c, s.userKeys(nil, u)[keyMeta]); users[n] == "" {
			users[n] = u
			found++
		}
	}
	if found < len(users) {
		t.Fatal("no user id for some node")
	}
	return users
}

// Every key of a user is in the user's slot, so one script can take them
// all; users spread over the masters.
func testClusterSlots(t *testing.T, c *testredis.Cluster, cfg Config) {
	s := open(t, cfg)
	users := usersOnEveryNode(t, c, s)
	m := msg("room:1", "bob", 1)
	m.Key = "k1"
	if _, err := s.Append(bg, users, m); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := s.Ack(bg, u, "phone", 1); err != nil {
			t.Fatal(err)
		}
		want := do(t, c, u, "CLUSTER", "KEYSLOT", u)
		for _, k := range s.userKeys(nil, u) {
			if got := do(t, c, k, "CLUSTER", "KEYSLOT", k); got != want {
				t.Fatalf("%s in slot %v, the user %s in %v", k, got, u, want)
			}
		}
		if n := do(t, c, u, "EXISTS", s.userKeys(nil, u)[keyMeta], s.userKeys(nil, u)[keyLog], s.userKeys(nil, u)[keyDevices]); n != int64(3) {
			t.Fatalf("%s: %v of meta, log and devices exist", u, n)
		}
	}
}

// A fan-out to users on every master is one script per recipient, each
// on its master. With one master stopped the append fails (Unavailable)
// while the others have stored it, which a reader sees; a retry with the
// key completes it, storing nothing twice.
func testClusterFanOut(t *testing.T, c *testredis.Cluster, cfg Config) {
	cfg.Timeout = 500 * time.Millisecond
	s := open(t, cfg)
	users := usersOnEveryNode(t, c, s)
	evalsha := func(n *testredis.Server) int {
		info, err := n.Info("commandstats")
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(info, "cmdstat_evalsha:calls=")
		if !ok {
			return 0
		}
		v, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		return v
	}
	send := func(i int) ([]inbox.Appended, error) {
		m := msg("group:1", "bob", i)
		m.Key = "m" + strconv.Itoa(i)
		return s.Append(bg, users, m)
	}
	if _, err := send(0); err != nil { // loads the script everywhere
		t.Fatal(err)
	}
	before := make([]int, len(users))
	for i, n := range c.Nodes() {
		before[i] = evalsha(n)
	}
	a, err := send(1)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range c.Nodes() {
		if got := evalsha(n) - before[i]; got != 1 {
			t.Fatalf("node %d ran %d scripts for a fan-out with one recipient there", i, got)
		}
		if a[i].Seq != 2 || a[i].Duplicate {
			t.Fatalf("fan-out: %+v", a)
		}
	}

	if err := s.Ready(bg); err != nil {
		t.Fatalf("Ready with every master up: %v", err)
	}
	stopped := c.Nodes()[2]
	syscall.Kill(stopped.Pid(), syscall.SIGSTOP)
	// Readiness says so: one master does not answer.
	if err := s.Ready(bg); !errors.Is(err, broker.ErrUnavailable) {
		syscall.Kill(stopped.Pid(), syscall.SIGCONT)
		t.Fatalf("Ready with a master stopped: %v, want ErrUnavailable", err)
	}
	begin := time.Now()
	_, err = send(2)
	took := time.Since(begin)
	// The others have it: a reader sees the entry in two logs of three.
	var seen []bool
	for _, u := range users[:2] {
		p, rerr := s.Read(bg, u, 2, 0)
		if rerr != nil {
			syscall.Kill(stopped.Pid(), syscall.SIGCONT)
			t.Fatal(rerr)
		}
		seen = append(seen, len(p.Entries) == 1 && p.Entries[0].Key == "m2")
	}
	syscall.Kill(stopped.Pid(), syscall.SIGCONT)
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("fan-out with a master stopped: %v, want ErrUnavailable", err)
	}
	if took > 10*cfg.Timeout {
		t.Fatalf("fan-out with a master stopped took %v, timeout %v", took, cfg.Timeout)
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("the live masters' recipients have the entry: %v", seen)
	}
	// The retry: the first two answer with their first seq; the third,
	// whose master ran the queued script once it ran again or runs this
	// one, has it once at seq 3 either way.
	var again []inbox.Appended
	eventually(t, "the retry", func() bool {
		again, err = send(2)
		return err == nil
	})
	for i, r := range again {
		if r.Seq != 3 || i < 2 && !r.Duplicate {
			t.Fatalf("the retry: %+v", again)
		}
	}
	for _, u := range users {
		p, err := s.Read(bg, u, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 3 || p.Entries[2].Key != "m2" || p.State.Top != 3 {
			t.Fatalf("%s after the retry: %+v", u, p)
		}
	}
}

// The users index in a cluster: a user left out of it (a node died
// between a log's beginning and its listing) is listed again by its next
// write; a listed user with no log is skipped and removed.
func testClusterUsersIndex(t *testing.T, c *testredis.Cluster, cfg Config) {
	s := open(t, cfg)
	users := usersOnEveryNode(t, c, s)
	if _, err := s.Append(bg, users, msg("room:1", "bob", 1)); err != nil {
		t.Fatal(err)
	}
	listed := func() []string {
		t.Helper()
		p, err := s.Users(bg, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range p.Users {
			names = append(names, u.User)
		}
		return names
	}
	if got := listed(); len(got) != 3 {
		t.Fatalf("listed %v, want %v", got, users)
	}
	// As if the node died after the script: l is 0 and the index lacks
	// the user.
	lost := users[1]
	meta := s.userKeys(nil, lost)[keyMeta]
	state := do(t, c, meta, "HGET", meta, "s").(string)
	if field(state, 7) != 1 {
		t.Fatalf("%s's listed flag is %d", lost, field(state, 7))
	}
	do(t, c, meta, "HSET", meta, "s", state[:56]+"\x00\x00\x00\x00\x00\x00\x00\x00")
	do(t, c, s.index, "ZREM", s.index, lost)
	if got := listed(); len(got) != 2 {
		t.Fatalf("listed %v without %s", got, lost)
	}
	if _, err := s.Ack(bg, lost, "phone", 1); err != nil {
		t.Fatal(err)
	}
	if got := listed(); len(got) != 3 {
		t.Fatalf("after the ack: listed %v", got)
	}
	if l := field(do(t, c, meta, "HGET", meta, "s").(string), 7); l != 1 {
		t.Fatalf("after the ack: listed flag %d", l)
	}
	// A listed user with no log.
	do(t, c, s.index, "ZADD", s.index, "0", "ghost")
	if got := listed(); len(got) != 3 {
		t.Fatalf("listed %v: the ghost is not a user", got)
	}
	if v := do(t, c, s.index, "ZSCORE", s.index, "ghost"); v != nil {
		t.Fatalf("the ghost is still in the index: %v", v)
	}
	// Deleting takes the user out; others stay.
	if err := s.DeleteUser(bg, users[0]); err != nil {
		t.Fatal(err)
	}
	if got := listed(); len(got) != 2 || got[0] == users[0] || got[1] == users[0] {
		t.Fatalf("after deleting %s: listed %v", users[0], got)
	}
}
