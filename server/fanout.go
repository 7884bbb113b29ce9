package server

import (
	"unsafe"

	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// Fan-out of one message to a loop's local subscribers (the coalesced
// path for several messages of a channel is in cork.go).

// deliver writes one message's shared bytes to every local subscriber.
// It allocates nothing: gnet copies only what the socket does not take at
// once.
func (l *loop) deliver(m *message) {
	lc := l.hub.get(m.pub.Channel)
	if lc == nil {
		return
	}
	f := l.fanOutOf(m)
	written := 0
	for i := 0; i < len(lc.subs); {
		s := lc.subs[i].s
		ss := &s.subs[lc.subs[i].ref]
		k := s.kind
		switch {
		case !f.next(s, ss):
			l.offerAny(s, ss, m, &written)
		case f.shared[k] != nil && !s.Deflate():
			// What the transport's write would send, without its calls.
			f.advance(ss)
			b := f.shared[k]
			l.stats.wrote(len(b))
			_, _ = s.gc.Write(b)
			written++
		case transports[k].write != nil:
			f.advance(ss)
			transports[k].write(l, s, m)
			if transports[k].shared != nil {
				f.learn(k, m)
			}
			written++
		default: // a poll
			l.offerAny(s, ss, m, &written)
		}
		if s.pastBudget(f.budget) {
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

// fanOut is what a delivery works out once per message, not once per
// subscriber: a fan-out's time is its per-subscriber step.
type fanOut struct {
	epoch  string
	seq    uint64
	from   string // the publishing connection, "" when none: nobody is passed
	budget int
	// shared holds, per transport, the bytes its write sends to every
	// subscriber that does not compress (transport.shared), once a first
	// subscriber had them built; nil: call the transport's write. Empty
	// while the loop corks a session, which never happens in deliver.
	shared [kindCount][]byte
	corked bool
}

func (l *loop) fanOutOf(m *message) fanOut {
	return fanOut{epoch: m.pub.Epoch, seq: m.pub.Seq, from: publisherConn(m), budget: l.budget(),
		corked: l.cork != nil}
}

// learn keeps the shared bytes of transport k after a first write built
// them (a lazy format is built only where a subscriber needs it).
func (f *fanOut) learn(k kind, m *message) {
	if f.shared[k] == nil && !f.corked {
		f.shared[k] = transports[k].shared(m)
	}
}

// next reports whether ss simply takes the message as its next one, the
// common case: protocol.LiveNext, on a subscription that does not wait for
// a join, of a connection that did not publish it. offerAny decides every
// other case.
func (f *fanOut) next(s *session, ss *sessionSub) bool {
	return ss.join == nil && protocol.LiveNext(ss.epoch, ss.seq, f.epoch, f.seq) &&
		(f.from == "" || !s.isFrom(f.from))
}

// advance moves ss, which next found at the message's epoch, to the
// message. The epoch is stored only when it is another string with the
// same bytes (a join's history read, a Redis broker's reply), so that
// from then on next compares pointers; a string store is two words and a
// write barrier check a subscriber would otherwise pay per message.
func (f *fanOut) advance(ss *sessionSub) {
	if unsafe.StringData(ss.epoch) != unsafe.StringData(f.epoch) {
		ss.epoch = f.epoch
	}
	ss.seq = f.seq
}

// offerAny gives m to one subscriber, whatever its state: held by a join
// that waits, a poll made ready, or offered to a stream.
func (l *loop) offerAny(s *session, ss *sessionSub, m *message, written *int) {
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
		l.offer(s, ss, m, written)
	}
}

// afterDelivery closes the slow consumers and resyncs the gaps a delivery
// found: closing and resyncing edit subscriber lists, so they wait until
// the walk is done.
func (l *loop) afterDelivery() {
	for _, s := range l.slow {
		if s.State() != conn.StateClosed {
			s.end(conn.ReasonSlowConsumer)
		}
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
