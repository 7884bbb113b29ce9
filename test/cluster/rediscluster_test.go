//go:build unix

package cluster

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/internal/testredis"
)

// slotOwners maps every slot to the address of the master serving it.
func slotOwners(t *testing.T, rc *testredis.Cluster) map[int64]string {
	t.Helper()
	v, err := rc.Nodes()[0].Do("CLUSTER", "SLOTS")
	if err != nil {
		t.Fatal(err)
	}
	owners := map[int64]string{}
	ranges, _ := v.([]any)
	for _, r := range ranges {
		f, _ := r.([]any)
		if len(f) < 3 {
			t.Fatalf("CLUSTER SLOTS entry %v", r)
		}
		lo, _ := f[0].(int64)
		hi, _ := f[1].(int64)
		master, _ := f[2].([]any)
		host, _ := master[0].(string)
		port, _ := master[1].(int64)
		for s := lo; s <= hi; s++ {
			owners[s] = host + ":" + strconv.FormatInt(port, 10)
		}
	}
	return owners
}

// channelsOnEveryMaster picks one channel per master: Comet's keys of a
// channel are hash-tagged with its name, so the name's slot is theirs.
func channelsOnEveryMaster(t *testing.T, rc *testredis.Cluster) []string {
	t.Helper()
	owners := slotOwners(t, rc)
	taken := map[string]bool{}
	var out []string
	for i := 0; len(out) < len(rc.Nodes()) && i < 1000; i++ {
		ch := fmt.Sprintf("room:c%d", i)
		v, err := rc.Nodes()[0].Do("CLUSTER", "KEYSLOT", ch)
		if err != nil {
			t.Fatal(err)
		}
		slot, _ := v.(int64)
		if m := owners[slot]; m != "" && !taken[m] {
			taken[m] = true
			out = append(out, ch)
		}
	}
	if len(out) != len(rc.Nodes()) {
		t.Fatalf("found channels on %d masters only", len(out))
	}
	return out
}

// TestRedisCluster: three nodes on a Redis Cluster of three masters, one
// channel on each master. Pollers and streams that move to another node at
// every request, WebSockets on every node, publishers on every node; the
// victim node's sharded pub/sub connections (one per master) are cut
// mid-run. Every subscriber gets every message once, in order, and every
// master holds a channel.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	rc := testredis.StartCluster(t, 3)
	c := startCluster(t, clusterOptions{redis: rc.Addrs(), redisCluster: true})
	channels := channelsOnEveryMaster(t, rc)
	urls := c.urls(false)

	var recs []*record
	for _, n := range c.nodes {
		recs = append(recs, subscribeWS(t, "ws@"+n.name, fixed(n.WS()), channels, wsOptions{}).rec)
	}
	recs = append(recs, subscribeWS(t, "ws@nginx", fixed(c.proxy.WS()), channels, wsOptions{}).rec)
	for _, s := range []struct {
		kind  string
		every int
	}{{"poll", 0}, {"sse", 2}, {"stream", 3}, {"iframe", 2}} {
		recs = append(recs, subscribeHTTP(t, s.kind, s.kind+"-rotating", rotate(urls...), channels, httpOptions{rotateEvery: s.every}).rec)
	}
	recs = append(recs, subscribeHTTP(t, "sse", "sse@nginx", fixed(c.proxy.URL()), channels, httpOptions{}).rec)

	pubs := map[string]publisher{"send-rotating": newSendPub(rotate(urls...)), "api@nginx": newAPIPub(fixed(c.proxy.URL()), nil)}
	for _, n := range c.nodes {
		pubs["api@"+n.name] = newAPIPub(fixed(n.URL()), nil)
	}
	l := newLedger()
	var once sync.Once
	killed := 0
	publishAll(t, l, pubs, channels, 12, func(pub string, k int) {
		if pub != "api@n2" || k != 15 {
			return
		}
		once.Do(func() {
			for _, m := range rc.Nodes() {
				if err := waitPubSub(m, c.nodes[0], 20*time.Second); err != nil {
					t.Error(err)
					return
				}
				n, err := cutPubSub(m, c.nodes[0])
				if err != nil {
					t.Error(err)
				}
				killed += n
			}
		})
	})
	// One per master, not one per channel; a connection being replaced
	// (a loaded machine: a ping that timed out) may still be listed beside
	// its successor.
	if masters := len(rc.Nodes()); killed < masters || killed > 2*masters {
		t.Errorf("cut %d sharded pub/sub connections of n1, want one per master (%d)", killed, masters)
	}
	waitAll(t, l, channels, recs, 45*time.Second)
	verify(t, l, channels, recs, nil)

	for _, m := range rc.Nodes() {
		v, err := m.Do("DBSIZE")
		if n, _ := v.(int64); err != nil || n == 0 {
			t.Errorf("master %s holds %v keys (%v): the channels did not spread over the masters", m.Addr(), v, err)
		}
	}
}
