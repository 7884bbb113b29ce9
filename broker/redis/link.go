package redis

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// A link is one pub/sub connection: to the single server, or to one
// cluster master for the channels whose slots it serves. Its goroutine
// owns the connection: it connects (with backoff after a loss), subscribes
// every channel the link wants, keeps subscriptions in step with
// Subscribe/Unsubscribe, and tells each channel's dispatcher when its
// subscription becomes active, which starts the read-back of what the
// channel missed.
type link struct {
	b    *Broker
	addr string // the cluster node; "" for the single server

	mu     sync.Mutex
	want   map[string]*chanState // channels assigned to this link
	active map[string]*chanState // subscribed on the current connection
	dirty  map[string]struct{}   // names whose want and active may differ
	up     bool                  // connected, and what it wanted then is subscribed
	once   bool                  // a connection was up before: the next is a reconnect

	wake    chan struct{} // cap 1: dirty has names
	stop    chan struct{}
	stopped chan struct{}
}

// retryMoved is how soon a subscription the node refused (its slot
// moved) is tried again.
const retryMoved = 200 * time.Millisecond

// subscribeBatch caps the topics of one SUBSCRIBE (one slot's, in a
// cluster) and the commands pipelined at once.
const subscribeBatch = 256

func newLink(b *Broker, addr string) *link {
	return &link{
		b:       b,
		addr:    addr,
		want:    make(map[string]*chanState),
		active:  make(map[string]*chanState),
		dirty:   make(map[string]struct{}),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// add assigns st to the link.
func (l *link) add(st *chanState) {
	l.mu.Lock()
	l.want[st.name] = st
	l.dirty[st.name] = struct{}{}
	l.mu.Unlock()
	l.signal()
}

// remove withdraws st from the link.
func (l *link) remove(st *chanState) {
	l.mu.Lock()
	if l.want[st.name] == st {
		delete(l.want, st.name)
		l.dirty[st.name] = struct{}{}
	}
	l.mu.Unlock()
	l.signal()
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *link) isUp() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}

// client returns the client to take the link's dedicated connection from.
func (l *link) client() rueidis.Client {
	if l.addr == "" {
		return l.b.client
	}
	return l.b.client.Nodes()[l.addr]
}

// run keeps the link connected until stop.
func (l *link) run() {
	defer close(l.stopped)
	log := l.b.cfg.Logger.With("redis", l.addr)
	failures := 0
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		c := l.client()
		if c == nil {
			// The cluster client does not know the node (yet): the topology
			// changed under us.
			l.b.links.refresh()
		} else {
			began := time.Now()
			err := l.serve(c)
			if err == nil {
				return // stopped
			}
			if time.Since(began) > time.Second {
				failures = 0 // it was up for a while: a fresh loss
			}
			if failures == 0 {
				log.Warn("redis: pub/sub connection lost", "err", err)
			}
			if l.addr != "" {
				l.b.links.refresh() // a node down may mean a failover
			}
		}
		failures++
		delay := min(50*time.Millisecond<<min(failures-1, 8), l.b.cfg.ReconnectMaxDelay)
		delay = delay/2 + rand.N(delay/2+1)
		select {
		case <-l.stop:
			return
		case <-time.After(delay):
		}
	}
}

// serve runs one connection until it breaks (the error) or the link
// stops (nil).
func (l *link) serve(c rueidis.Client) error {
	dc, release := c.Dedicate()
	defer release()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: l.onMessage, OnSubscription: l.onSubscription})
	defer dc.Close()

	l.mu.Lock()
	clear(l.active)
	for name := range l.want {
		l.dirty[name] = struct{}{}
	}
	l.mu.Unlock()
	l.signal()
	first := true
	defer func() {
		l.mu.Lock()
		l.up = false
		l.mu.Unlock()
	}()
	for {
		select {
		case err := <-wait:
			if err == nil {
				err = rueidis.ErrClosing
			}
			return err
		case <-l.stop:
			return nil
		case <-l.wake:
			if err := l.reconcile(dc); err != nil {
				return err
			}
			if first {
				// Up once everything it wanted at connect time is
				// subscribed.
				first = false
				l.mu.Lock()
				l.up = true
				again, n := l.once, len(l.want)
				l.once = true
				l.mu.Unlock()
				if again {
					l.b.counts.reconnects.Add(1)
					l.b.cfg.Logger.Info("redis: pub/sub connection restored", "redis", l.addr, "channels", n)
				}
			}
		}
	}
}

// reconcile brings the connection's subscriptions in line with want.
func (l *link) reconcile(dc rueidis.DedicatedClient) error {
	var subs, unsubs []*chanState
	var activated []*chanState
	l.mu.Lock()
	for name := range l.dirty {
		delete(l.dirty, name)
		w, a := l.want[name], l.active[name]
		switch {
		case w == a:
		case w == nil:
			// Forget it before the server confirms, so that the confirmation
			// is not taken for the server dropping it.
			delete(l.active, name)
			unsubs = append(unsubs, a)
		case a == nil:
			subs = append(subs, w)
		default:
			// Withdrawn and subscribed again before we got to it: the
			// topic never stopped; the new state needs its baseline.
			l.active[name] = w
			activated = append(activated, w)
		}
	}
	l.mu.Unlock()
	for _, st := range activated {
		st.d.post(event{kind: evActive, st: st})
	}
	if err := l.command(dc, unsubs, false); err != nil {
		return err
	}
	return l.command(dc, subs, true)
}

// command subscribes or unsubscribes sts, batched (by slot in a cluster)
// and pipelined.
func (l *link) command(dc rueidis.DedicatedClient, sts []*chanState, subscribe bool) error {
	for len(sts) > 0 {
		var cmds rueidis.Commands
		var groups [][]*chanState
		for len(sts) > 0 && len(cmds) < subscribeBatch {
			var group []*chanState
			group, sts = l.nextGroup(sts)
			topics := make([]string, len(group))
			for i, st := range group {
				topics[i] = st.topic
			}
			cmds = append(cmds, l.build(dc, topics, subscribe))
			groups = append(groups, group)
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.b.cfg.Timeout)
		res := dc.DoMulti(ctx, cmds...)
		cancel()
		for i, r := range res {
			if err := r.Error(); err != nil {
				if re, ok := rueidis.IsRedisErr(err); ok && l.addr != "" && transient(re) {
					// The slot lives elsewhere now (MOVED), or is moving: a
					// new slot map reassigns these channels. Until it does,
					// try again here now and then, in case the map we read
					// lags behind the node that refused.
					l.b.links.refresh()
					if subscribe {
						l.mu.Lock()
						for _, st := range groups[i] {
							l.dirty[st.name] = struct{}{}
						}
						l.mu.Unlock()
						time.AfterFunc(retryMoved, l.signal)
					}
					continue
				}
				return err
			}
			if !subscribe {
				continue
			}
			withdrawn := false
			l.mu.Lock()
			for _, st := range groups[i] {
				l.active[st.name] = st
				if l.want[st.name] != st {
					// Withdrawn while we subscribed: put right next round.
					l.dirty[st.name] = struct{}{}
					withdrawn = true
				}
			}
			l.mu.Unlock()
			if withdrawn {
				l.signal()
			}
			for _, st := range groups[i] {
				st.d.post(event{kind: evActive, st: st})
			}
		}
	}
	return nil
}

// nextGroup splits off the head of sts that one command can carry: up to
// subscribeBatch topics, all of one slot in a cluster (a sharded
// subscription spans one slot).
func (l *link) nextGroup(sts []*chanState) (group, rest []*chanState) {
	n := 1
	for n < len(sts) && n < subscribeBatch && (l.addr == "" || sts[n].slot == sts[0].slot) {
		n++
	}
	return sts[:n], sts[n:]
}

func (l *link) build(dc rueidis.DedicatedClient, topics []string, subscribe bool) rueidis.Completed {
	switch {
	case l.addr == "" && subscribe:
		return dc.B().Subscribe().Channel(topics...).Build()
	case l.addr == "":
		return dc.B().Unsubscribe().Channel(topics...).Build()
	case subscribe:
		return dc.B().Ssubscribe().Channel(topics...).Build()
	default:
		return dc.B().Sunsubscribe().Channel(topics...).Build()
	}
}

// onMessage runs on the connection's reader: it routes a publication to
// its channel's dispatcher.
func (l *link) onMessage(m rueidis.PubSubMessage) {
	name, ok := l.b.channelOfTopic(m.Channel)
	if !ok {
		return
	}
	st := l.b.table.get(name)
	if st == nil {
		return // unsubscribed since
	}
	p, err := parseMessage(st.name, m.Message)
	if err != nil {
		l.b.cfg.Logger.Debug("redis: malformed publication dropped", "topic", m.Channel, "err", err)
		return
	}
	st.d.post(event{kind: evLive, st: st, pub: p})
}

// onSubscription runs on the connection's reader. An unsubscribe we did
// not ask for is the server dropping a sharded subscription whose slot
// moved: subscribe it again where the slot went.
func (l *link) onSubscription(s rueidis.PubSubSubscription) {
	if s.Kind != "unsubscribe" && s.Kind != "sunsubscribe" {
		return
	}
	name, ok := l.b.channelOfTopic(s.Channel)
	if !ok {
		return
	}
	l.mu.Lock()
	_, ours := l.active[name]
	if ours {
		delete(l.active, name)
		l.dirty[name] = struct{}{}
	}
	l.mu.Unlock()
	if ours {
		if l.addr != "" {
			l.b.links.refresh()
		}
		l.signal()
	}
}
