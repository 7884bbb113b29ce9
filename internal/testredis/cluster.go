package testredis

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of masters without replicas, each a Server
// on its own loopback port (and bus port, port+10000).
type Cluster struct {
	t     testing.TB
	nodes []*Server
}

// StartCluster runs masters cluster-enabled servers, joins them with
// redis-cli --cluster create (the slots split evenly), and returns once
// every node reports cluster_state:ok and knows every other node. The
// nodes stop when the test ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("testredis: a cluster needs at least 3 masters, not %d", masters)
	}
	c := &Cluster{t: t}
	for range masters {
		s := newServer(t, Options{cluster: true}, t.TempDir())
		if err := s.startFree(); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, s)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("testredis: redis-cli not found (it comes with redis-server: scripts/test-deps.sh)")
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testredis: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitReady(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Addrs are the nodes' addresses, in the order they were started.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Nodes are the cluster's servers (to Kill, Restart or Do one of them).
func (c *Cluster) Nodes() []*Server { return c.nodes }

// WaitReady waits until every running node reports cluster_state:ok, all
// slots assigned, and knows all nodes: a cluster fresh from create, or a
// node just restarted, takes a few gossip rounds to get there.
func (c *Cluster) WaitReady() error {
	deadline := time.Now().Add(ReadyTimeout)
	want := "cluster_known_nodes:" + strconv.Itoa(len(c.nodes))
	for _, s := range c.nodes {
		if s.Pid() == 0 {
			continue
		}
		for {
			v, err := s.Do("CLUSTER", "INFO")
			info, _ := v.(string)
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_slots_assigned:16384") && strings.Contains(info, want) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("testredis: cluster node %s not ready: %v\n%s", s.Addr(), err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, s := range c.nodes {
		s.Stop()
	}
}
