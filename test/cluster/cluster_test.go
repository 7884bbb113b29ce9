//go:build unix

package cluster

import (
	"fmt"
	"strings"
	"testing"

	"github.com/comet-im/comet/internal/testredis"
)

// clusterOptions shape one test's cluster.
type clusterOptions struct {
	nodes int // default 3
	// redis are the addresses the nodes are given; redisCluster says they
	// are nodes of a Redis Cluster.
	redis        []string
	redisCluster bool
	// args are added to every node's command line (they win over the
	// defaults, which come first).
	args []string
	// noProxy leaves nginx out.
	noProxy bool
}

// cluster is nodes on one Redis engine, behind nginx.
type cluster struct {
	t     *testing.T
	opts  clusterOptions
	nodes []*node
	proxy *proxy
}

// startCluster starts the nodes, then nginx in front of them.
func startCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 3
	}
	c := &cluster{t: t, opts: o}
	for i := range o.nodes {
		c.addNode(fmt.Sprintf("n%d", i+1))
	}
	if !o.noProxy {
		c.proxy = startProxy(t, c.addrs()...)
	}
	return c
}

// nodeArgs is a node's command line: the engine, the key, and limits that
// let one loopback client address hold every test connection.
func (c *cluster) nodeArgs() []string {
	a := []string{"-engine", "redis", "-redis-addrs", strings.Join(c.opts.redis, ","),
		"-api-key", apiKey, "-auth", "open", "-trusted-proxies", "127.0.0.1",
		"-max-conns-per-ip", "-1", "-history-size", "1000", "-drain-timeout", "5s",
		"-publish-rate", "-1", "-log-level", "info"}
	if c.opts.redisCluster {
		a = append(a, "-redis-cluster")
	}
	return append(a, c.opts.args...)
}

// addNode starts one more node on the cluster's engine (nginx is not told:
// see proxy.reload).
func (c *cluster) addNode(name string) *node {
	c.t.Helper()
	n := startNode(c.t, name, c.nodeArgs()...)
	c.nodes = append(c.nodes, n)
	return n
}

// addrs are the running nodes' host:port.
func (c *cluster) addrs() []string {
	var out []string
	for _, n := range c.nodes {
		if n.running() {
			out = append(out, n.addr)
		}
	}
	return out
}

// urls are the nodes' base URLs, http://… (ws selects ws://…).
func (c *cluster) urls(ws bool) []string {
	var out []string
	for _, n := range c.nodes {
		if ws {
			out = append(out, n.WS())
		} else {
			out = append(out, n.URL())
		}
	}
	return out
}

// singleRedis starts one redis-server with AOF and appendfsync always:
// nothing a node acknowledged may be lost across its restart.
func singleRedis(t *testing.T) *testredis.Server {
	t.Helper()
	return testredis.Start(t, testredis.Options{AppendFsync: "always"})
}
