package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Grouped is a Target whose processes fall into named groups (a cluster's
// nodes, its proxy, its Redis), so that each group's CPU is measured apart
// as well as in the total.
type Grouped interface {
	// PIDGroups maps a group's name to its root processes.
	PIDGroups() map[string][]int
}

// Cluster is a target made of Nodes server processes sharing one Redis,
// behind one nginx proxy: a production cluster's shape, on one machine.
// Clients and publishers reach it through the proxy only.
type Cluster struct {
	Label string
	// Proto is the protocol the nodes (and so the proxy) speak.
	Proto Proto
	// HTTPTransports says the nodes also serve Comet's /sse and /poll.
	HTTPTransports bool
	// Nodes is the number of server processes.
	Nodes int
	// Node returns node i's process (i from 0), given Redis's host:port.
	Node func(i int, redis string) *Process
	// Proxy returns the proxy's process for the nodes' host:port list.
	Proxy func(nodes []string) (*Process, error)
	// Redis is the shared Redis; its zero value is a default redis-server
	// without persistence.
	Redis RedisServer

	nodes []*Process
	proxy *Process
}

// Name implements Target.
func (c *Cluster) Name() string { return c.Label }

// Start implements Target: Redis, then the nodes, then the proxy, each
// healthy before the next starts.
func (c *Cluster) Start(ctx context.Context) error {
	if c.Nodes < 1 || c.Node == nil || c.Proxy == nil {
		return errors.New("bench: cluster target without nodes or proxy")
	}
	if err := c.Redis.Start(ctx); err != nil {
		return err
	}
	var addrs []string
	for i := range c.Nodes {
		n := c.Node(i, c.Redis.Addr())
		c.nodes = append(c.nodes, n)
		if err := n.Start(ctx); err != nil {
			_ = c.Stop()
			return fmt.Errorf("bench: %s node %d: %w", c.Label, i, err)
		}
		addrs = append(addrs, n.Endpoint().Addr)
	}
	p, err := c.Proxy(addrs)
	if err != nil {
		_ = c.Stop()
		return err
	}
	c.proxy = p
	if err := p.Start(ctx); err != nil {
		_ = c.Stop()
		return fmt.Errorf("bench: %s proxy: %w", c.Label, err)
	}
	return nil
}

// Endpoint implements Target: the proxy's.
func (c *Cluster) Endpoint() Endpoint { return c.proxy.Endpoint() }

// PIDGroups implements Grouped: "nodes", "proxy" and "redis".
func (c *Cluster) PIDGroups() map[string][]int {
	g := map[string][]int{}
	for _, n := range c.nodes {
		g["nodes"] = append(g["nodes"], n.PIDs()...)
	}
	if c.proxy != nil {
		g["proxy"] = c.proxy.PIDs()
	}
	if pid := c.Redis.PID(); pid != 0 {
		g["redis"] = []int{pid}
	}
	return g
}

// PIDs implements Target: every process of the cluster, Redis and the
// proxy included, so that the CPU per delivery is what the whole cluster
// spends.
func (c *Cluster) PIDs() []int {
	groups := c.PIDGroups()
	var all []int
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		all = append(all, groups[name]...)
	}
	return all
}

// Stop implements Target: the proxy, the nodes, then Redis.
func (c *Cluster) Stop() error {
	var errs []error
	if c.proxy != nil {
		errs = append(errs, c.proxy.Stop())
		c.proxy = nil
	}
	for _, n := range c.nodes {
		errs = append(errs, n.Stop())
	}
	c.nodes = nil
	errs = append(errs, c.Redis.Stop())
	return errors.Join(errs...)
}
