package server

import (
	"context"
	"sync"
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/server/wheel"
	"github.com/panjf2000/gnet/v2"
)

// loop is the state one gnet event loop owns: its sessions, its share of the
// subscriptions, its timer wheel and its scratch buffers. Only the mailbox
// is touched by other goroutines (under mu); everything else belongs to the
// loop's goroutine.
type loop struct {
	idx int
	srv *Server
	el  gnet.EventLoop

	env      conn.Env
	wheel    *wheel.Wheel[*session]
	start    time.Time // wheel tick 0
	sessions []*session
	hub      map[*channel]*localChannel
	replay   []*message // subscribe scratch
	replyBuf []byte     // reply scratch
	epoch    []byte     // epoch scratch
	// HTTP transport scratch.
	positions  []position
	pollPos    []pollPos
	scratch    []byte
	body       []byte
	line       []byte
	hdr        []byte
	iov        [2][]byte
	readyPolls []*session // parked polls a drain found messages for
	slow       []*session // sessions over budget found during a delivery

	// Mailbox: messages published for this loop's subscribers, drained by
	// one Execute at a time so that fan-out is batched and ordered.
	mu        sync.Mutex
	pending   []*message
	spare     []*message
	scheduled bool

	drainTask gnet.Runnable
	tickTask  gnet.Runnable
	fire      func(*session) // l.onTimer, bound once so ticks allocate nothing
	stats     loopStats
}

// localChannel lists this loop's subscribers of one channel.
type localChannel struct {
	ch   *channel
	subs []localSub
}

// localSub is one subscription. from is the channel's seq when it was made:
// messages at or below it were either replayed or predate the subscriber.
type localSub struct {
	s    *session
	from uint64
	ref  int32 // index of the matching entry in s.subs
}

func newLoop(srv *Server, idx int, el gnet.EventLoop) *loop {
	l := &loop{
		idx:   idx,
		srv:   srv,
		el:    el,
		wheel: wheel.New[*session](1024),
		start: time.Now(),
		hub:   make(map[*channel]*localChannel),
	}
	l.env.Limits = conn.Limits{
		MaxBodyBytes:    srv.cfg.MaxBodyBytes,
		MaxMessageBytes: srv.cfg.MaxMessageBytes,
	}
	l.env.Limits.Head.MaxHeaderBytes = srv.cfg.MaxHeaderBytes
	l.env.Limits.Head.MaxHeaders = srv.cfg.MaxHeaders
	l.drainTask = gnet.RunnableFunc(func(context.Context) error {
		defer l.recoverPanic(nil)
		l.drain()
		return nil
	})
	l.tickTask = gnet.RunnableFunc(func(context.Context) error {
		defer l.recoverPanic(nil)
		l.tick()
		return nil
	})
	l.fire = l.onTimer
	return l
}

// enqueue adds m to the mailbox and reports whether the loop must be
// kicked (no drain is scheduled yet). Any goroutine; called with the
// channel's lock held.
func (l *loop) enqueue(m *message) bool {
	l.mu.Lock()
	l.pending = append(l.pending, m)
	kick := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	return kick
}

// kick schedules a drain on the loop. Any goroutine.
func (l *loop) kick() {
	if err := l.el.Execute(context.Background(), l.drainTask); err != nil {
		// The engine is stopping: nobody is left to deliver to.
		l.mu.Lock()
		l.scheduled = false
		l.mu.Unlock()
	}
}

// drain delivers every pending message to this loop's subscribers.
func (l *loop) drain() {
	l.mu.Lock()
	batch := l.pending
	l.pending, l.spare = l.spare[:0], nil
	l.scheduled = false
	l.mu.Unlock()

	for _, m := range batch {
		l.deliver(m)
	}
	for i, s := range l.readyPolls {
		if s.stream != nil && s.stream.ready {
			s.stream.ready = false
			s.finishPoll()
		}
		l.readyPolls[i] = nil
	}
	l.readyPolls = l.readyPolls[:0]
	clear(batch) // drop references so history alone keeps messages alive
	l.mu.Lock()
	if l.spare == nil && cap(batch) <= 4096 {
		l.spare = batch[:0]
	}
	l.mu.Unlock()
}

// deliver writes one message's shared frame to every local subscriber. It
// allocates nothing: gnet copies only what the socket does not take at once.
func (l *loop) deliver(m *message) {
	lc := l.hub[m.ch]
	if lc == nil {
		return
	}
	budget := l.srv.cfg.MaxOutboundBytes
	written := 0
	for i := 0; i < len(lc.subs); {
		sub := &lc.subs[i]
		s := sub.s
		if m.seq > sub.from {
			s.send(m, int(sub.ref))
			written++
			if s.State() != conn.StateClosed && s.gc.OutboundBuffered() > budget {
				l.slow = append(l.slow, s)
			}
		}
		// A failed write makes gnet close the connection at once, calling
		// OnClose from inside Write, which swap-removes s from lc.subs: the
		// entry at i is then the last subscriber, not served yet.
		if i < len(lc.subs) && lc.subs[i].s == s {
			i++
		}
	}
	l.stats.delivered.Add(int64(written))
	if len(l.slow) > 0 {
		// Closing edits lc.subs, so it waits until the walk is done.
		for _, s := range l.slow {
			s.close(conn.ReasonSlowConsumer)
		}
		clear(l.slow)
		l.slow = l.slow[:0]
	}
}

// subscribe adds s to channel ch (locked by the caller) starting after seq.
func (l *loop) subscribe(s *session, ch *channel, seq uint64) {
	lc := l.hub[ch]
	if lc == nil {
		lc = &localChannel{ch: ch}
		l.hub[ch] = lc
		ch.loopMask |= 1 << l.idx
	}
	s.subs = append(s.subs, sessionSub{lc: lc, pos: int32(len(lc.subs))})
	lc.subs = append(lc.subs, localSub{s: s, from: seq, ref: int32(len(s.subs) - 1)})
}

// unsubscribe removes the i-th subscription of s in O(1).
func (l *loop) unsubscribe(s *session, i int) {
	ss := s.subs[i]
	lc := ss.lc
	// Swap-remove from the channel's list, fixing the moved entry's back
	// reference in its session.
	last := len(lc.subs) - 1
	if int(ss.pos) != last {
		moved := lc.subs[last]
		lc.subs[ss.pos] = moved
		moved.s.subs[moved.ref].pos = ss.pos
	}
	lc.subs[last] = localSub{}
	lc.subs = lc.subs[:last]
	// Swap-remove from the session's list likewise.
	lastS := len(s.subs) - 1
	if i != lastS {
		moved := s.subs[lastS]
		s.subs[i] = moved
		moved.lc.subs[moved.pos].ref = int32(i)
	}
	s.subs[lastS] = sessionSub{}
	s.subs = s.subs[:lastS]

	if len(lc.subs) == 0 {
		delete(l.hub, lc.ch)
		lc.ch.mu.Lock()
		lc.ch.loopMask &^= 1 << l.idx
		lc.ch.lastActive = nowMillis()
		lc.ch.mu.Unlock()
	}
}

// now returns the current wheel tick.
func (l *loop) now() int64 { return l.wheel.Now() }

// tick advances the wheel to wall-clock time, firing due timers.
func (l *loop) tick() {
	to := int64(time.Since(l.start) / l.srv.cfg.Tick)
	l.wheel.Advance(to, l.fire)
}

func (l *loop) onTimer(s *session) {
	defer l.recoverPanic(s)
	s.onTimer()
}

// addSession registers a new connection's session with the loop.
func (l *loop) addSession(s *session) {
	s.idx = int32(len(l.sessions))
	l.sessions = append(l.sessions, s)
}

// removeSession forgets s in O(1).
func (l *loop) removeSession(s *session) {
	last := len(l.sessions) - 1
	if s.idx < 0 || int(s.idx) > last || l.sessions[s.idx] != s {
		return
	}
	moved := l.sessions[last]
	l.sessions[s.idx] = moved
	moved.idx = s.idx
	l.sessions[last] = nil
	l.sessions = l.sessions[:last]
	s.idx = -1
}

// flush writes env.Out to s's socket and empties it.
func (l *loop) flush(s *session) {
	if len(l.env.Out) > 0 {
		_, _ = s.gc.Write(l.env.Out)
	}
	if cap(l.env.Out) > 256<<10 {
		l.env.Out = nil // don't keep a rare huge buffer forever
	} else {
		l.env.Out = l.env.Out[:0]
	}
}
