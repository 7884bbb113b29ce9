package server

import (
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/server/wheel"
	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// timerPhase says what a session's single timer is waiting for.
type timerPhase uint8

const (
	phaseRequest timerPhase = iota // a request head/body must complete, or an idle keep-alive ends
	phasePing                      // time to ping the WebSocket, or a stream heartbeat
	phaseHold                      // a parked poll's hold time is over
	phasePong                      // a ping is out: traffic must have arrived since
	phaseMessage                   // a WebSocket message has begun: it must complete
	phaseClose                     // our close frame is out: the reply is overdue
	phaseLinger                    // closed: reading and discarding until the peer stops
)

// session is everything the server keeps for one connection. It embeds the
// sans-I/O protocol state and implements conn.Handler. Loop-owned.
//
// Field order is for the fan-out (deliver), which reads gc, subs, kind
// and flags, then conn.Conn's deflate mode, for every subscriber: they
// come first, in the session's first 60 bytes, where they were spread
// over four cache lines.
type session struct {
	gc       gnet.Conn
	subs     []sessionSub
	kind     kind
	flags    sessionFlags
	phase    timerPhase
	inflight uint8 // async requests outstanding
	idx      int32 // position in loop.sessions
	conn.Conn
	loop     *loop
	http     *httpState // HTTP transports only: WebSockets stay small
	who      *who       // who the client is; nil on an open node
	admitted *ipCount   // the client address's connection count, released at close
	timer    wheel.Timer[*session]
	bucket   tokenBucket
	lastRead int32  // wheel tick of the latest inbound bytes (6 years of 100 ms ticks)
	pingAt   int32  // wheel tick the outstanding ping was sent
	gen      uint32 // bumped per request and at close: stale completions are dropped
	msgSeq   uint32 // conn.Messages when the message deadline was armed
}

// sessionFlags are a session's booleans, packed.
type sessionFlags uint8

const (
	flagGone      sessionFlags = 1 << iota // OnClose ran: the socket is released, never touch gc
	flagClosing                            // the socket's close was requested
	flagLingering                          // closed, still reading and discarding
	flagThrottled                          // input waits for queued output to drain
	flagInputWait                          // input waits for an in-flight slot
	flagAuthWait                           // input waits for the connect hook's answer
	flagAcking                             // an inbox ack is being stored; later ones wait (who.ackNext)
)

func (s *session) has(f sessionFlags) bool { return s.flags&f != 0 }

func newSession(l *loop, gc gnet.Conn) *session {
	s := &session{gc: gc, loop: l, lastRead: int32(l.now())}
	s.timer.Owner = s
	s.bucket.init(&l.srv.conf().Config, l.now())
	s.arm(phaseRequest, l.srv.conf().HandshakeTimeout)
	return s
}

// gone reports whether the socket is released (OnClose ran).
func (s *session) isGone() bool { return s.has(flagGone) }

// arm (re)schedules the session's one timer for phase p, d from now. A
// closed session is never re-armed: any write may have closed it (gnet
// runs OnClose from inside a failing Write).
func (s *session) arm(p timerPhase, d time.Duration) {
	if s.State() == conn.StateClosed || s.has(flagGone) {
		return
	}
	s.phase = p
	s.loop.wheel.Schedule(&s.timer, s.loop.srv.conf().ticks(d))
}

// onTimer runs when the session's timer fires.
func (s *session) onTimer() {
	cfg := &s.loop.srv.conf().Config
	switch s.phase {
	case phaseRequest:
		if s.has(flagThrottled) {
			// Its answers have not been read for a whole request deadline.
			s.Abort(conn.ReasonSlowConsumer)
			s.closeSocket()
			return
		}
		if s.State() != conn.StateHead {
			return
		}
		// An idle keep-alive connection just closes; one in the middle of
		// a request gets 408 (slowloris).
		// (A chunked body is consumed as it arrives, so InMessage, not
		// gnet's buffer, says one is on its way.)
		if s.gc.InboundBuffered() > 0 || s.InMessage() {
			s.Reject(&s.loop.env, 408, nil)
			s.loop.flush(s)
		}
		s.Abort(conn.ReasonHandshakeTimeout)
		s.closeSocket()
	case phaseHold:
		if s.kind == kindPoll && s.State() == conn.StateParked {
			s.finishPoll()
		}
	case phasePing:
		if s.expired(cfg.Now()) {
			s.end(conn.ReasonTokenExpired) // checked at every heartbeat
			return
		}
		if !s.kind.isWebSocket() {
			s.heartbeat()
			s.arm(phasePing, cfg.StreamHeartbeat)
			return
		}
		s.WriteMessage(&s.loop.env, ws.OpPing, nil)
		s.loop.flush(s)
		s.pingAt = int32(s.loop.now())
		s.arm(phasePong, cfg.PongTimeout)
	case phasePong:
		if s.lastRead < s.pingAt {
			s.end(conn.ReasonIdleTimeout)
			return
		}
		s.arm(phasePing, max(cfg.PingInterval-cfg.PongTimeout, cfg.Tick))
	case phaseMessage:
		switch {
		case s.inMessage() && s.Messages() == s.msgSeq:
			s.end(conn.ReasonMessageTimeout)
		case s.inMessage(): // the next message began: its own deadline
			s.msgSeq = s.Messages()
			s.arm(phaseMessage, cfg.MessageTimeout)
		default:
			s.arm(phasePing, cfg.PingInterval)
		}
	case phaseClose, phaseLinger:
		s.closeSocket()
	}
}

// inMessage reports whether a WebSocket message is partly received.
func (s *session) inMessage() bool {
	return s.State() == conn.StateWebSocket && s.InMessage()
}

// end closes the session for reason r, the way its transport ends: a
// WebSocket sends its close frame, then waits for the reply (after a
// normal or shutdown close) or lingers (after a failure); a stream writes
// its trailer; an HTTP connection closes. It is the one way a session is
// closed, and may be called any time on the owning loop, more than once.
func (s *session) end(r conn.Reason) {
	if s.has(flagGone | flagClosing | flagLingering) {
		return
	}
	s.dropSubscriptions()
	env := &s.loop.env
	switch st := s.State(); {
	case st == conn.StateWebSocket || st == conn.StateClosing:
		s.Close(env, r)
		s.loop.flush(s)
		s.settle() // wait for the close reply, or linger
		return
	case st == conn.StateParked:
		// A stream ends with a close event that says why (the code a
		// WebSocket would get: reconnect or not), then its trailer. Its
		// client sends nothing more: no need to linger.
		if ev := s.transport().event; ev != nil {
			l := s.loop
			l.body = appendCloseEvent(l.body[:0], int(r.WSCode()), r.String())
			env.Out = ev(s, env.Out, l.body)
		}
		env.Out = append(env.Out, s.transport().trailer...)
	}
	s.Abort(r)
	s.loop.flush(s)
	s.closeSocket()
}

// settle applies a closing state: wait for the peer's close reply, linger,
// or close the socket.
func (s *session) settle() {
	switch {
	case s.has(flagGone | flagClosing | flagLingering):
	case s.State() == conn.StateClosing:
		s.dropSubscriptions()
		s.arm(phaseClose, s.loop.srv.conf().CloseTimeout)
	case s.State() == conn.StateClosed && lingers(s.Reason()):
		s.dropSubscriptions()
		s.flags |= flagLingering
		// arm refuses closed sessions; this is the one timer they get.
		s.phase = phaseLinger
		s.loop.wheel.Schedule(&s.timer, s.loop.srv.conf().ticks(s.loop.srv.conf().CloseTimeout))
	case s.State() == conn.StateClosed:
		s.closeSocket()
	}
}

// lingers reports whether a connection closed for r keeps reading for a
// while before its socket closes. A refused request (413, 414, 431), an
// oversized or invalid message, or a slow consumer's cut-off usually
// still has bytes on the way, and closing with unread data makes the
// kernel send a reset that can destroy the answer (the status, the close
// frame, the last chunk) before the client reads it. So the connection
// swallows what arrives (Feed discards everything once closed) until the
// client closes or CloseTimeout ends (RFC 9112 §9.6, "lingering close").
// Memory stays bounded: nothing is kept.
func lingers(r conn.Reason) bool {
	switch r {
	case conn.ReasonTooBig, conn.ReasonSlowConsumer, conn.ReasonBadUTF8, conn.ReasonProtocol,
		conn.ReasonUnsupported, conn.ReasonMessageTimeout, conn.ReasonPolicy:
		return true
	}
	return false
}

// closeSocket asks gnet to flush what is queued and close the socket;
// OnClose follows. It writes nothing itself: output goes through the loop's
// shared buffer, and bytes left there would reach the next connection.
func (s *session) closeSocket() {
	if s.has(flagGone | flagClosing) {
		return
	}
	s.flags |= flagClosing
	s.flags &^= flagLingering
	s.Abort(conn.ReasonNormal) // keeps an earlier reason
	s.dropSubscriptions()
	s.loop.wheel.Cancel(&s.timer)
	_ = s.gc.Close()
}

// dropSubscriptions leaves every channel.
func (s *session) dropSubscriptions() {
	for len(s.subs) > 0 {
		s.loop.unsubscribe(s, len(s.subs)-1)
	}
}

// afterFeed applies what a Feed changed: the next timer, or the close.
func (s *session) afterFeed(before conn.State) {
	st := s.State()
	cfg := &s.loop.srv.conf().Config
	switch {
	case st == conn.StateClosed || st == conn.StateClosing:
		if before != st {
			s.settle()
		}
	case st == conn.StateWebSocket && before != conn.StateWebSocket:
		s.arm(phasePing, cfg.PingInterval)
	case st == conn.StateWebSocket && s.phase != phaseMessage && s.inMessage():
		s.msgSeq = s.Messages()
		s.arm(phaseMessage, cfg.MessageTimeout)
	case st == conn.StateHead && before != conn.StateHead:
		s.arm(phaseRequest, cfg.HandshakeTimeout)
	}
}

// overBudget reports whether the output queued for the client is past its
// budget, less room for a close frame or a last chunk, so that the end of
// the connection still fits.
func (s *session) overBudget() bool {
	return s.gc.OutboundBuffered() > s.loop.budget()
}

// pastBudget is the fan-out's budget check, after its write to s: the
// loop's budget is read once per message, and the check is inlined into
// the per-subscriber step. A session it names is cut off by afterDelivery
// unless it closed meanwhile.
func (s *session) pastBudget(budget int) bool {
	return s.flags&flagGone == 0 && s.gc.OutboundBuffered() > budget
}

// budget is the most output a session may have queued; a fan-out reads it
// once per message, not once per subscriber.
func (l *loop) budget() int { return l.srv.conf().MaxOutboundBytes - closeReserve }

// closeReserve is the room kept in the budget for what ends a connection.
const closeReserve = 256

// checkBudget cuts a client off when its output is over budget. A plain
// HTTP exchange is not cut: its input waits instead (throttle), and each
// answer is bounded on its own.
func (s *session) checkBudget() {
	if s.has(flagGone|flagClosing|flagLingering) || s.State() == conn.StateClosed {
		return
	}
	if s.kind == kindHTTP && s.State() == conn.StateHead {
		return
	}
	if s.overBudget() {
		s.end(conn.ReasonSlowConsumer)
	}
}

// throttle makes a keep-alive connection whose answers are not read stop
// taking requests: pipelined requests are answered one at a time while
// output is pending, so a client that does not read cannot make the node
// queue answers without bound. Parking stops conn.Feed after this request;
// the loop's tick resumes the connection once its output drained.
func (s *session) throttle() {
	if s.State() != conn.StateHead || s.kind != kindHTTP || s.has(flagThrottled) {
		return
	}
	s.loop.flush(s)
	if s.isGone() || s.gc.OutboundBuffered() == 0 {
		return
	}
	s.Park()
	// And stop reading from the socket: what the client still sends waits
	// in the kernel, whose window then stops the client (TCP flow control),
	// instead of in gnet's buffer.
	_ = s.gc.PauseRead()
	s.flags |= flagThrottled
	s.loop.throttled = append(s.loop.throttled, s)
}

// resumeThrottled resumes throttled sessions whose output drained.
func (l *loop) resumeThrottled() {
	kept := l.throttled[:0]
	for _, s := range l.throttled {
		switch {
		case s.isGone() || !s.has(flagThrottled):
		case s.gc.OutboundBuffered() > 0:
			kept = append(kept, s)
		default:
			s.flags &^= flagThrottled
			s.Unpark(true)
			_ = s.gc.ResumeRead()
			_ = s.gc.Wake(nil) // the pipelined requests wait in gnet's buffer
		}
	}
	clear(l.throttled[len(kept):])
	l.throttled = kept
}

// resumeInput feeds input that waited for an in-flight slot.
func (s *session) resumeInput() {
	if s.has(flagInputWait) && !s.isGone() {
		s.flags &^= flagInputWait
		_ = s.gc.Wake(nil)
	}
}

// abandon undoes what a request left behind when its session closed or
// moved on: subscriptions still waiting for it.
func (s *session) abandon(r *request) {
	if r.then != nil {
		s.loop.release(r.then)
		r.then = nil
	}
	if r.op != opJoin || s.isGone() {
		return
	}
	for i := range r.chans {
		if j := s.subIndex(r.chans[i].name); j >= 0 && s.subs[j].join != nil {
			s.loop.unsubscribe(s, j)
		}
	}
}
