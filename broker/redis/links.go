package redis

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"
)

// linkSet assigns channels to pub/sub links: the one link of a single
// server, or in a cluster the link of the master serving the channel's
// slot, from a slot map it refreshes from CLUSTER SLOTS (at start,
// periodically, and when a link finds the map stale).
//
// Lock order: table shard, then linkSet.mu, then link.mu.
type linkSet struct {
	b *Broker

	mu      sync.Mutex
	single  *link
	owner   []string // slot -> master address; nil before the first refresh
	byAddr  map[string]*link
	started bool
	stopped bool

	kick chan struct{} // cap 1: refresh now
}

// refreshEvery is how often a cluster's slot map is re-read when nothing
// prompted it.
const refreshEvery = 5 * time.Second

func newLinkSet(b *Broker) *linkSet {
	ls := &linkSet{b: b, byAddr: make(map[string]*link), kick: make(chan struct{}, 1)}
	if !b.cfg.Cluster {
		ls.single = newLink(b, "")
	}
	return ls
}

func (ls *linkSet) start() {
	ls.mu.Lock()
	ls.started = true
	ls.mu.Unlock()
	if ls.single != nil {
		go ls.single.run()
		return
	}
	ls.b.wg.Add(1)
	go ls.refresher()
}

// stop stops every link and waits for them.
func (ls *linkSet) stop() {
	ls.mu.Lock()
	links := make([]*link, 0, len(ls.byAddr)+1)
	if ls.single != nil {
		links = append(links, ls.single)
	}
	for _, l := range ls.byAddr {
		links = append(links, l)
	}
	started := ls.started
	ls.stopped = true
	ls.mu.Unlock()
	for _, l := range links {
		close(l.stop)
	}
	if !started {
		return
	}
	for _, l := range links {
		<-l.stopped
	}
}

// assign gives st its link; the table shard of st is locked.
func (ls *linkSet) assign(st *chanState) {
	l := ls.linkFor(st.slot)
	st.link = l
	if l != nil {
		l.add(st)
	} else {
		ls.refresh() // its slot has no known master: the next map places it
	}
}

// unassign takes st off its link; the table shard of st is locked.
func (ls *linkSet) unassign(st *chanState) {
	if st.link != nil {
		st.link.remove(st)
		st.link = nil
	}
}

// linkFor returns the link serving slot, starting it if new; nil when the
// slot has no known master.
func (ls *linkSet) linkFor(slot uint16) *link {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.single != nil {
		return ls.single
	}
	if ls.owner == nil || ls.owner[slot] == "" {
		return nil
	}
	addr := ls.owner[slot]
	l := ls.byAddr[addr]
	if l == nil && !ls.stopped {
		l = newLink(ls.b, addr)
		ls.byAddr[addr] = l
		if ls.started {
			go l.run()
		}
	}
	return l
}

// refresh asks for the slot map to be read again soon.
func (ls *linkSet) refresh() {
	select {
	case ls.kick <- struct{}{}:
	default:
	}
}

// state counts the links and those up.
func (ls *linkSet) state() (links, up int) {
	ls.mu.Lock()
	all := make([]*link, 0, len(ls.byAddr)+1)
	if ls.single != nil {
		all = append(all, ls.single)
	}
	for _, l := range ls.byAddr {
		all = append(all, l)
	}
	ls.mu.Unlock()
	for _, l := range all {
		if l.isUp() {
			up++
		}
	}
	return len(all), up
}

func (ls *linkSet) refresher() {
	defer ls.b.wg.Done()
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		if err := ls.reload(); err != nil {
			ls.b.cfg.Logger.Warn("redis: reading the cluster's slots failed", "err", err)
		}
		select {
		case <-ls.b.done:
			return
		case <-t.C:
		case <-ls.kick:
			// Coalesce a burst of kicks (every link of a failed node) and
			// give the cluster a moment to settle.
			select {
			case <-ls.b.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// reload reads CLUSTER SLOTS and, if the map changed, moves every channel
// whose slot changed master to its new link (it subscribes there and
// reads back what it missed while moving).
func (ls *linkSet) reload() error {
	ctx, cancel := context.WithTimeout(context.Background(), ls.b.cfg.Timeout)
	defer cancel()
	owner, err := ls.slots(ctx)
	if err != nil {
		return err
	}
	ls.mu.Lock()
	changed := ls.owner == nil
	for i := range owner {
		if changed || ls.owner[i] != owner[i] {
			changed = true
			break
		}
	}
	if changed {
		ls.owner = owner
	}
	ls.mu.Unlock()
	if !changed {
		return nil
	}
	ls.b.table.each(func(st *chanState) {
		l := ls.linkFor(st.slot)
		if l == st.link {
			return
		}
		if st.link != nil {
			st.link.remove(st)
		}
		st.link = l
		if l != nil {
			l.add(st)
		}
	})
	// Stop the links of addresses that serve nothing now.
	ls.mu.Lock()
	serving := make(map[string]bool)
	for _, a := range ls.owner {
		serving[a] = true
	}
	var idle []*link
	for addr, l := range ls.byAddr {
		if !serving[addr] {
			delete(ls.byAddr, addr)
			idle = append(idle, l)
		}
	}
	ls.mu.Unlock()
	for _, l := range idle {
		close(l.stop)
	}
	return nil
}

// slots reads the slot map: slot -> "host:port" of its master.
func (ls *linkSet) slots(ctx context.Context) ([]string, error) {
	c := ls.b.client
	arr, err := c.Do(ctx, c.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return nil, err
	}
	owner := make([]string, numSlots)
	for _, r := range arr {
		row, err := r.ToArray()
		if err != nil || len(row) < 3 {
			continue
		}
		lo, err1 := row[0].AsInt64()
		hi, err2 := row[1].AsInt64()
		node, err3 := row[2].ToArray()
		if err1 != nil || err2 != nil || err3 != nil || len(node) < 2 || lo < 0 || hi >= numSlots || lo > hi {
			continue
		}
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
		for s := lo; s <= hi; s++ {
			owner[s] = addr
		}
	}
	return owner, nil
}
