package server

import "github.com/comet-im/comet/conn"

// Fan-out of one message to a loop's local subscribers (the coalesced
// path for several messages of a channel is in cork.go).

// deliver writes one message's shared bytes to every local subscriber.
// It allocates nothing: gnet copies only what the socket does not take at
// once.
func (l *loop) deliver(m *message) {
	lc := l.hub[m.pub.Channel]
	if lc == nil {
		return
	}
	written, budget := 0, l.budget()
	for i := 0; i < len(lc.subs); {
		s := lc.subs[i].s
		ss := &s.subs[lc.subs[i].ref]
		switch {
		case ss.join != nil:
			ss.join.hold(m)
		case s.kind == kindPoll:
			// Answered once the whole batch is in, so one answer carries
			// every message that arrived together.
			s.markReady()
		default:
			// The connection that published it is not sent it back (unless
			// it asked with echo), but its position moves past it.
			l.offer(s, ss, m, &written)
		}
		if !s.isGone() && s.State() != conn.StateClosed && s.gc.OutboundBuffered() > budget {
			l.slow = append(l.slow, s)
		}
		// A failed write makes gnet close the connection at once, calling
		// OnClose from inside Write, which swap-removes s from lc.subs: the
		// entry at i is then the last subscriber, not served yet.
		if i < len(lc.subs) && lc.subs[i].s == s {
			i++
		}
	}
	l.stats.delivered.add(int64(written))
	l.stats.publishSent()
	l.afterDelivery()
}

// afterDelivery closes the slow consumers and resyncs the gaps a delivery
// found: closing and resyncing edit subscriber lists, so they wait until
// the walk is done.
func (l *loop) afterDelivery() {
	for _, s := range l.slow {
		s.end(conn.ReasonSlowConsumer)
	}
	clear(l.slow)
	l.slow = l.slow[:0]
	for _, g := range l.gaps {
		g.s.resync(g.channel)
	}
	clear(l.gaps)
	l.gaps = l.gaps[:0]
}

// gapAt is a subscription that saw a live message it cannot take: some
// publications are missing before it.
type gapAt struct {
	s       *session
	channel string
}
