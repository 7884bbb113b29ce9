package server

import (
	"strings"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The one admit-and-join path of every transport. A join subscribes the
// session to channels locally (so live messages start to arrive), makes
// sure the node's engine subscription is active, reads history after the
// client's positions, applies the recovery rule (readRecovery), and then
// writes the replay through the same de-duplicating step as live delivery.
// Live messages that arrive while the engine is being asked wait in the
// subscription (joinWait) and follow the replay, skipped by seq where they
// overlap it: no lock is held across the engine call.

// addJoin adds channel name, with the client's position, to join request
// r, and subscribes s to it locally. name may alias the request's bytes.
func (s *session) addJoin(r *request, name string, since broker.Position, hasSince bool) {
	c := r.addChan(name)
	c.since, c.hasSince = since, hasSince
	s.subscribeChan(c)
}

// planJoin adds channel name to join request r without subscribing yet:
// the request waits to be admitted (authorize.go), then
// subscribePlanned subscribes its channels.
func (s *session) planJoin(r *request, name string, since broker.Position, hasSince bool) {
	c := r.addChan(name)
	c.since, c.hasSince = since, hasSince
	r.planned = true
}

// subscribePlanned subscribes s locally to every channel of r.
func (s *session) subscribePlanned(r *request) {
	r.planned = false
	for i := range r.chans {
		s.subscribeChan(&r.chans[i])
	}
}

// subscribeChan subscribes s locally to c's channel, so live messages start
// to arrive (and wait, when the engine answers later), and notes the
// node's interest for the engine call.
func (s *session) subscribeChan(c *chanRead) {
	l := s.loop
	i, it, created := l.subscribe(s, c.name)
	ss := &s.subs[i]
	c.name = ss.lc.name // owned from here on
	c.interest, c.created = it, created
	if !l.srv.inline {
		ss.join = &joinWait{}
	}
}

// ownNames copies r's channel names and epochs out of the request's
// bytes, for a request that outlives them (one that waits for the connect
// hook).
func (r *request) ownNames() {
	for i := range r.chans {
		c := &r.chans[i]
		c.name = strings.Clone(c.name)
		c.since.Epoch = strings.Clone(c.since.Epoch)
	}
}

// applyJoin settles subscription c of a completed join: its position
// from the recovery rule. It returns the subscription's index and what it
// held while waiting, or -1 with the error when the join failed, or -1
// and nil when the subscription left meanwhile.
func (s *session) applyJoin(c *chanRead) (int, *joinWait, error) {
	l := s.loop
	i := s.subIndex(c.name)
	if i < 0 {
		return -1, nil, nil
	}
	ss := &s.subs[i]
	w := ss.join
	ss.join = nil
	if c.err != nil {
		l.unsubscribe(s, i)
		return -1, nil, c.err
	}
	ss.epoch = s.streamEpoch(c.st)
	ss.seq = c.rec.After
	ss.setGap(c.hasSince && !c.rec.Recovered, c.rec.Missed)
	if s.kind != kindPoll && c.interest != nil { // a first join, not a resync
		s.presenceJoined(c.name)
	}
	return i, w, nil
}

// collectReplay puts in l.replay the messages to offer a joined
// subscription, in order: what history returned, then what arrived live
// meanwhile (held).
func (l *loop) collectReplay(c *chanRead, held *joinWait) {
	for _, p := range c.pubs {
		l.replay = append(l.replay, messageOf(p))
	}
	if held != nil {
		l.replay = append(l.replay, held.held...)
		if held.overflow {
			l.replayOverflow = true
		}
	}
}

// offer gives subscription i a message of a replay, de-duplicated like a
// live delivery. It reports false when the message cannot be taken (a gap
// before it): the subscription must resync.
func (s *session) offer(i int, m *message) bool {
	return s.take(&s.subs[i], m) != protocol.LiveGap
}

// replayFlushParts and replayFlushBytes bound one writev of a replay: its
// buffers (far below the kernel's 1,024) and the bytes copied for it (an
// iframe's scripts are copies, not shared frames).
const (
	replayFlushParts = 256
	replayFlushBytes = 256 << 10
)

// writeReplay offers l.replay to subscription i and clears it. When the
// replay stopped short of the stream's top (a page of history, or a gap),
// the subscription resyncs for the rest.
func (s *session) writeReplay(i int, top uint64) {
	l := s.loop
	if s.isGone() || s.State() == conn.StateClosed || i >= len(s.subs) {
		// A write before this one failed: gnet closed the connection (and
		// OnClose dropped its subscriptions) from inside it.
		clear(l.replay)
		l.replay = l.replay[:0]
		l.replayOverflow = false
		return
	}
	name := s.subs[i].lc.name
	more := l.replayOverflow
	// A replay leaves in one writev, not one write per message (a client
	// that reconnects after a blip catches up in one system call), flushed
	// early only to bound the writev and the copies it holds.
	corked := l.corkFor(s)
	for _, m := range l.replay {
		if s.isGone() || s.State() == conn.StateClosed {
			break
		}
		if !s.offer(i, m) {
			more = true
			break
		}
		if corked && (len(l.corkParts) >= replayFlushParts || len(l.arena) >= replayFlushBytes) {
			l.uncork()
			l.corkFor(s)
		}
	}
	if corked {
		l.uncork()
	}
	clear(l.replay)
	l.replay = l.replay[:0]
	l.replayOverflow = false
	if s.isGone() || s.State() == conn.StateClosed {
		return
	}
	// Each resync moves the position forward (the rule skips what history
	// no longer holds), so paging ends; with no history to read, nothing
	// would move it.
	if i = s.subIndex(name); i >= 0 && s.replayLimit() > 0 && (more || s.subs[i].seq < top) {
		s.resync(name)
	}
	s.checkBudget()
}

// resync joins a live subscription again from its own position: the node
// saw a gap in live delivery (an engine that lost messages shows them as
// a seq jump), or a replay stopped at a page boundary. A parked poll is
// answered instead: its next poll recovers from history.
func (s *session) resync(name string) {
	i := s.subIndex(name)
	if i < 0 || s.subs[i].join != nil {
		return
	}
	if s.kind == kindPoll {
		s.markReady()
		return
	}
	ss := &s.subs[i]
	r := s.newRequest(opJoin)
	r.resync = true
	r.limit = s.replayLimit()
	c := r.addChan(ss.lc.name)
	c.since, c.hasSince = broker.Position{Epoch: ss.epoch, Seq: ss.seq}, true
	if !s.loop.srv.inline {
		ss.join = &joinWait{}
	}
	s.loop.srv.stats.resyncs.Add(1)
	s.submit(r)
}

// replayLimit is how many messages one read of history returns for s.
func (s *session) replayLimit() int { return s.replayLimitFor(s.kind) }

func (s *session) replayLimitFor(k kind) int {
	cfg := s.loop.srv.conf()
	if k != kindNative {
		return cfg.PollBatch
	}
	if cfg.Inbox != nil {
		// A personal channel replays from the inbox whatever the channels'
		// history keeps.
		return max(cfg.HistorySize, inboxReplayPage)
	}
	return max(cfg.HistorySize, 0)
}

// inboxReplayPage is the least a WebSocket replay page holds on a node
// with an inbox.
const inboxReplayPage = 100

// onJoined resumes the transport whose join completed.
func (s *session) onJoined(r *request) {
	switch {
	case r.resync:
		s.onResynced(r)
	case s.kind == kindNative:
		s.onSubscribed(r)
	case s.kind == kindPoll:
		s.onPollJoined(r)
	default:
		s.onStreamJoined(r)
	}
}

// onResynced tells the client its subscription was joined again (with
// whether nothing was lost), then writes the replay.
func (s *session) onResynced(r *request) {
	c := &r.chans[0]
	i, held, err := s.applyJoin(c)
	if i < 0 {
		if err != nil {
			s.end(conn.ReasonResync) // the engine failed us: the client reconnects with since
		}
		return
	}
	s.loop.collectReplay(c, held)
	ss := &s.subs[i]
	reply := protocol.SubReply{Channel: ss.lc.name, Epoch: []byte(ss.epoch), Seq: c.st.Top,
		HasSince: true, Recovered: c.rec.Recovered, Missed: c.rec.Missed}
	l := s.loop
	l.body = protocol.AppendSubReply(l.body[:0], &reply)
	if ev := s.transport().event; ev != nil {
		l.env.Out = ev(s, l.env.Out, l.body)
	}
	l.flush(s)
	s.writeReplay(i, c.st.Top)
}
