package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/internal/testredis"
)

func clusterConfig(c *testredis.Cluster) Config {
	cfg := testConfig(c.Addrs()...)
	cfg.Cluster = true
	cfg.HistorySize = 100000
	return cfg
}

// One cluster of three masters for the cluster cases: forming one takes
// seconds.
func TestCluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a cluster takes seconds to form")
	}
	c := testredis.StartCluster(t, 3)
	t.Run("Contract", func(t *testing.T) {
		brokertest.Run(t, func(t *testing.T, o brokertest.Options) broker.Broker {
			cfg := contractConfig(c.Addrs(), o)
			cfg.Cluster = true
			b, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return b
		})
	})
	t.Run("SpreadAndOrder", func(t *testing.T) { testClusterSpreadAndOrder(t, c) })
	t.Run("LinkCut", func(t *testing.T) { testClusterLinkCut(t, c) })
	t.Run("SlotMigration", func(t *testing.T) { testClusterSlotMigration(t, c) })
}

// Channels spread over the masters; concurrent publishers on several
// nodes; every subscriber gets each channel's publications in order,
// through one sharded pub/sub connection per master.
func testClusterSpreadAndOrder(t *testing.T, c *testredis.Cluster) {
	cfg := clusterConfig(c)
	sub, rec := started(t, cfg)
	pubs := []*Broker{open(t, cfg), open(t, cfg)}
	channels := make([]string, 30)
	for i := range channels {
		channels[i] = "room:" + strconv.Itoa(i)
		if err := sub.Subscribe(context.Background(), channels[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := make(map[string]broker.Position)
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := pubs[g%len(pubs)]
			for i := range 50 {
				ch := channels[(g*7+i)%len(channels)]
				pos, err := pub.Publish(context.Background(), ch, fmt.Appendf(nil, "[%d,%d]", g, i), broker.PublishOptions{})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if pos.Seq > last[ch].Seq {
					last[ch] = pos
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rec, last)
	for _, n := range c.Nodes() {
		keys, err := n.Do("KEYS", cfg.Prefix+"*")
		if err != nil {
			t.Fatal(err)
		}
		if len(keys.([]any)) == 0 {
			t.Errorf("node %s holds none of the channels", n.Addr())
		}
	}
	if st := sub.Stats(); st.Links != 3 || st.LinksUp != 3 {
		t.Fatalf("stats %+v: want 3 pub/sub connections up, one per master", st)
	}
	// One pub/sub connection of ours per master, whatever the channels.
	for _, n := range c.Nodes() {
		v, err := n.Do("CLIENT", "LIST", "TYPE", "pubsub")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(v.(string), "name=comet"); got != 1 {
			t.Errorf("node %s: %d pub/sub connections named comet, want 1:\n%s", n.Addr(), got, v)
		}
	}
}

func testClusterLinkCut(t *testing.T, c *testredis.Cluster) {
	cfg := clusterConfig(c)
	sub, rec := started(t, cfg)
	pub := open(t, cfg)
	channels := make([]string, 12)
	for i := range channels {
		channels[i] = "cut:" + strconv.Itoa(i)
		if err := sub.Subscribe(context.Background(), channels[i]); err != nil {
			t.Fatal(err)
		}
	}
	var killed int64
	last := publishAll(t, pub, channels, 1500, func(i int) {
		if i%300 == 150 {
			for _, n := range c.Nodes() {
				killed += killPubSub(t, n)
			}
		}
	})
	checkExactlyOnce(t, rec, last)
	if killed == 0 || sub.Stats().Reconnects == 0 {
		t.Fatalf("killed %d, stats %+v: want connections cut and restored", killed, sub.Stats())
	}
}

// A slot moves to another master while its channel is published to: the
// old master drops the sharded subscription, the engine finds the slot's
// new home, subscribes there and reads back what it missed.
func testClusterSlotMigration(t *testing.T, c *testredis.Cluster) {
	cfg := clusterConfig(c)
	sub, rec := started(t, cfg)
	pub := open(t, cfg)
	const ch = "moving"
	if err := sub.Subscribe(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	tag := string(escapeName(nil, ch))
	slot := slotOf(tag)
	src, dst := ownerOf(t, c, slot), -1
	for i := range c.Nodes() {
		if i != src {
			dst = i
			break
		}
	}
	var acked []broker.Position
	publish := func(i int) {
		t.Helper()
		// While the slot migrates, a script whose keys are not all on one
		// side gets TRYAGAIN (so an idempotency key, which never exists
		// yet, would wait for the end of the migration): publish without.
		pos, err := pub.Publish(context.Background(), ch, []byte(strconv.Itoa(i)), broker.PublishOptions{})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		acked = append(acked, pos)
	}
	for i := range 100 {
		publish(i)
	}
	moveSlot(t, c, slot, src, dst, func() {
		for i := 100; i < 200; i++ {
			publish(i)
		}
	})
	for i := 200; i < 300; i++ {
		publish(i)
	}
	for i, pos := range acked {
		if pos.Seq != uint64(i+1) || pos.Epoch != acked[0].Epoch {
			t.Fatalf("ack %d: %+v", i, pos)
		}
	}
	checkExactlyOnce(t, rec, map[string]broker.Position{ch: acked[len(acked)-1]})
	if o := ownerOf(t, c, slot); o != dst {
		t.Fatalf("slot %d still on node %d", slot, o)
	}
	// The subscription moved with the slot.
	topic, _ := sub.topicOf(ch)
	for i, n := range c.Nodes() {
		v, err := n.Do("PUBSUB", "SHARDNUMSUB", topic)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if i == dst {
			want = 1
		}
		if got := v.([]any)[1].(int64); got != want {
			t.Errorf("node %d: %d sharded subscribers of %s, want %d", i, got, topic, want)
		}
	}
}

func nodeID(t *testing.T, n *testredis.Server) string {
	t.Helper()
	v, err := n.Do("CLUSTER", "MYID")
	if err != nil {
		t.Fatal(err)
	}
	return v.(string)
}

// ownerOf returns the index of the node serving slot.
func ownerOf(t *testing.T, c *testredis.Cluster, slot uint16) int {
	t.Helper()
	v, err := c.Nodes()[0].Do("CLUSTER", "SLOTS")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.([]any) {
		row := r.([]any)
		if int64(slot) < row[0].(int64) || int64(slot) > row[1].(int64) {
			continue
		}
		port := row[2].([]any)[1].(int64)
		for i, n := range c.Nodes() {
			if int64(n.Port()) == port {
				return i
			}
		}
	}
	t.Fatalf("slot %d has no owner", slot)
	return -1
}

// moveSlot migrates slot from node src to node dst the way redis-cli
// --cluster reshard does, running during() while the slot is migrating.
func moveSlot(t *testing.T, c *testredis.Cluster, slot uint16, src, dst int, during func()) {
	t.Helper()
	nodes := c.Nodes()
	s, d := nodes[src], nodes[dst]
	sid, did := nodeID(t, s), nodeID(t, d)
	sl := strconv.Itoa(int(slot))
	do := func(n *testredis.Server, args ...string) any {
		t.Helper()
		v, err := n.Do(args...)
		if err != nil {
			t.Fatalf("%v on %s: %v", args, n.Addr(), err)
		}
		return v
	}
	do(d, "CLUSTER", "SETSLOT", sl, "IMPORTING", sid)
	do(s, "CLUSTER", "SETSLOT", sl, "MIGRATING", did)
	during()
	for {
		keys := do(s, "CLUSTER", "GETKEYSINSLOT", sl, "100").([]any)
		if len(keys) == 0 {
			break
		}
		args := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(d.Port()), "", "0", "5000", "KEYS"}
		for _, k := range keys {
			args = append(args, k.(string))
		}
		do(s, args...)
	}
	do(d, "CLUSTER", "SETSLOT", sl, "NODE", did)
	do(s, "CLUSTER", "SETSLOT", sl, "NODE", did)
	for i, n := range nodes {
		if i != src && i != dst {
			do(n, "CLUSTER", "SETSLOT", sl, "NODE", did)
		}
	}
}
