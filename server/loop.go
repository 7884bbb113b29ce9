package server

import (
	"context"
	"sync"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
	"github.com/comet-im/comet/server/wheel"
	"github.com/panjf2000/gnet/v2"
)

// loop is the state one gnet event loop owns: its sessions, its share of
// the subscriptions, its timer wheel and its scratch buffers. Only the
// mailbox is touched by other goroutines (under mu); everything else
// belongs to the loop's goroutine.
type loop struct {
	idx int
	bit uint64 // 1 << idx, the loop's bit in interest masks
	srv *Server
	el  gnet.EventLoop

	env        conn.Env
	limitsFrom *settings // the settings env.Limits were taken from
	wheel      *wheel.Wheel[*session]
	start      time.Time // wheel tick 0
	sessions   []*session
	// drainOrder is the order Shutdown closes the sessions in; drained
	// counts those done.
	drainOrder   []*session
	drained      int
	drainPlanned bool
	hub          channelsByName
	freeReqs     *request
	feeding      *session // the session whose input is being fed, if any
	// presenceAt (Unix ms) is when the loop next refreshes its presence.
	presenceAt int64

	// Scratch, reused by one handler at a time.
	replyBuf []byte // replies
	scratch  []byte // query values, poll message lists
	body     []byte // poll and open bodies
	line     []byte // per-subscriber lines (SSE id, iframe script)
	hdr      []byte // extra header lines
	epoch    []byte // empty epochs
	iov      [2][]byte
	// Coalesced writes (cork.go): the session being corked, its queued
	// output, and the grouping of a drain's messages by channel.
	cork      *session
	corkParts []corkPart
	corkIov   [][]byte
	arena     []byte
	batchGen  uint32
	groups    []msgGroup
	batchLC   []*localChannel
	batchFlat []*message
	positions []protocol.Requested
	tokens    []auth.SubscriptionToken
	targets   []string
	pollPos   []pollPos

	replay         []*message // a join's replay, offered in order
	replayOverflow bool       // the join held more live messages than it could keep

	readyPolls []*session // parked polls a drain found messages for
	pollShare  pollShare  // the bodies those polls share (poll_share.go)
	gaps       []gapAt    // subscriptions that saw a gap during a delivery
	slow       []*session // sessions over budget found during a delivery
	throttled  []*session // sessions whose input waits for their output to drain

	// Mailbox: messages published for this loop's subscribers and
	// completed requests, drained by one Execute at a time, so that
	// fan-out is batched and a channel's messages stay in seq order.
	mu        sync.Mutex
	msgs      []*message
	spare     []*message
	reqs      *request // completed requests, newest first
	scheduled bool
	// backlog is a drain's messages not delivered yet (from backlogAt on):
	// the next drain goes on with them before it takes the mailbox's.
	// Loop goroutine only.
	backlog   []*message
	backlogAt int

	drainTask gnet.Runnable
	tickTask  gnet.Runnable
	fire      func(*session) // l.onTimer, bound once so ticks allocate nothing
	stats     loopStats
}

func newLoop(srv *Server, idx int, el gnet.EventLoop) *loop {
	l := &loop{
		idx:   idx,
		bit:   1 << idx,
		srv:   srv,
		el:    el,
		wheel: wheel.New[*session](1024),
		start: srv.conf().Now(),
		hub:   newChannelsByName(),
	}
	l.takeLimits(srv.conf())
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

// post adds a message or a completed request to the mailbox and schedules
// a drain if none is pending. Any goroutine; an engine may call it with
// its own locks held, which is what orders a channel's messages.
func (l *loop) post(m *message, r *request) {
	l.mu.Lock()
	if m != nil {
		l.msgs = append(l.msgs, m)
	}
	if r != nil {
		r.next = l.reqs
		l.reqs = r
	}
	kick := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if kick {
		l.kick()
	}
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

// drain completes the requests and delivers the messages in the mailbox,
// at most one share of them per task (fanOutShare): the rest stays in the
// backlog and the loop posts itself another drain, so that between shares
// it reads its sockets and flushes what the kernel did not take.
func (l *loop) drain() {
	l.mu.Lock()
	if l.backlog == nil {
		l.backlog, l.backlogAt = l.msgs, 0
		l.msgs, l.spare = l.spare[:0], nil
	}
	reqs := l.reqs
	l.reqs = nil
	l.scheduled = false
	l.mu.Unlock()

	// Completions first, oldest first: a join's reply and replay then go
	// out before the live messages of this batch, which it de-duplicates.
	reqs = reverse(reqs)
	for reqs != nil {
		r := reqs
		reqs = r.next
		r.next = nil
		l.complete(r)
	}
	batch := l.backlog[l.backlogAt:]
	share := batch[:l.fanOutShare(batch)]
	l.deliverBatch(share)
	l.answerReadyPolls(share)
	clear(share) // drop references so history alone keeps messages alive
	l.backlogAt += len(share)

	l.mu.Lock()
	if l.backlogAt == len(l.backlog) {
		if l.spare == nil && cap(l.backlog) <= 4096 {
			l.spare = l.backlog[:0]
		}
		l.backlog, l.backlogAt = nil, 0
	}
	l.mu.Unlock()
	l.rescheduleIfPending()
}

// rescheduleIfPending posts another drain if messages wait in the backlog
// or the mailbox and none is scheduled. Loop goroutine.
func (l *loop) rescheduleIfPending() {
	l.mu.Lock()
	more := (l.backlog != nil || len(l.msgs) > 0) && !l.scheduled
	if more {
		l.scheduled = true
	}
	l.mu.Unlock()
	if more {
		l.kick()
	}
}

// reverse reverses a chain of requests.
func reverse(r *request) *request {
	var out *request
	for r != nil {
		next := r.next
		r.next = out
		out = r
		r = next
	}
	return out
}

// complete resumes the session of a finished request, unless the session
// closed or went on to another request meanwhile.
func (l *loop) complete(r *request) {
	s := r.s
	defer l.release(r)
	if r.async {
		s.inflight--
		if s.inflight == uint8(l.srv.conf().MaxInFlight)-1 {
			s.resumeInput() // input waited for this slot
		}
	}
	if s.State() == conn.StateClosed || s.gen != r.gen {
		s.abandon(r)
		return
	}
	switch r.op {
	case opPublish:
		s.onPublished(r)
	case opRead:
		s.onRead(r)
	case opJoin:
		s.onJoined(r)
	case opAuth:
		s.onAuthed(r)
	case opPresence:
		s.onPresence(r)
	case opInbox:
		s.onInbox(r)
	}
	l.flush(s)
}

// now returns the current wheel tick.
func (l *loop) now() int64 { return l.wheel.Now() }

// nowMillis returns the server clock in Unix milliseconds.
func (l *loop) nowMillis() int64 { return l.srv.conf().Now().UnixMilli() }

// tick advances the wheel to the clock, firing due timers, and resumes
// throttled sessions whose output drained.
func (l *loop) tick() {
	to := int64(l.srv.conf().Now().Sub(l.start) / l.srv.conf().Tick)
	l.wheel.Advance(to, l.fire)
	l.resumeThrottled()
	l.refreshPresence()
	l.stats.publishSent()
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

// flush writes env.Out to s's socket and empties it, then applies the
// outbound budget: every byte queued for a client counts, replies and
// replays as much as deliveries.
func (l *loop) flush(s *session) {
	if len(l.env.Out) > 0 && !s.isGone() {
		_, _ = s.gc.Write(l.env.Out)
		l.stats.wrote(len(l.env.Out))
	}
	if cap(l.env.Out) > 256<<10 {
		l.env.Out = nil // don't keep a rare huge buffer forever
	} else {
		l.env.Out = l.env.Out[:0]
	}
	if !s.isGone() {
		s.checkBudget()
	}
}

// takeLimits gives the loop's conn.Feed the input limits of set, when a
// reload changed them (limits apply from a connection's next input on).
// Loop goroutine.
func (l *loop) takeLimits(set *settings) {
	if l.limitsFrom != set {
		l.env.Limits, l.limitsFrom = set.connLimits, set
	}
}
