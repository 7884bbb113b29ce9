package server

import (
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/server/wheel"
	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// sessionKind says which protocol a connection speaks.
type sessionKind uint8

const (
	kindHTTP   sessionKind = iota // plain HTTP requests, or not yet upgraded
	kindNative                    // /ws: the JSON pub/sub protocol
	kindEcho                      // /echo: every message sent back
	kindPoll                      // /poll, parked or being answered
	kindSSE                       // /sse
	kindStream                    // /stream
	kindIframe                    // /iframe
)

// isWebSocket reports whether the kind is an upgraded connection.
func (k sessionKind) isWebSocket() bool { return k == kindNative || k == kindEcho }

// timerPhase says what a session's single timer is waiting for.
type timerPhase uint8

const (
	phaseRequest timerPhase = iota // a request head/body must complete, or an idle keep-alive ends
	phasePing                      // time to ping the WebSocket, or a stream heartbeat
	phaseHold                      // a parked poll's hold time is over
	phasePong                      // a ping is out: traffic must have arrived since
	phaseClose                     // our close frame is out: the reply is overdue
)

// session is everything the server keeps for one connection. It embeds the
// sans-I/O protocol state and implements conn.Handler. Loop-owned.
type session struct {
	conn.Conn
	timer    wheel.Timer[*session]
	gc       gnet.Conn
	loop     *loop
	subs     []sessionSub
	stream   *streamState // HTTP transports only
	lastRead int32        // wheel tick of the latest inbound bytes (6 years of 100 ms ticks)
	pingAt   int32        // wheel tick the outstanding ping was sent
	idx      int32        // position in loop.sessions
	kind     sessionKind
	phase    timerPhase
}

// sessionSub is one of a session's subscriptions; pos indexes lc.subs.
// seq is the last seq written to (or, for a poll, acknowledged by) the
// client: the position HTTP transports put in cursors.
type sessionSub struct {
	lc  *localChannel
	seq uint64
	pos int32
	gap bool // history did not reach back to the requested position
}

func newSession(l *loop, gc gnet.Conn) *session {
	s := &session{gc: gc, loop: l, lastRead: int32(l.now())}
	s.timer.Owner = s
	s.arm(phaseRequest, l.srv.cfg.HandshakeTimeout)
	return s
}

// arm (re)schedules the session's one timer for phase p, d from now. A
// closed session is never re-armed: any write may have closed it (gnet
// runs OnClose from inside a failing Write).
func (s *session) arm(p timerPhase, d time.Duration) {
	if s.State() == conn.StateClosed {
		return
	}
	s.phase = p
	s.loop.wheel.Schedule(&s.timer, s.loop.srv.cfg.ticks(d))
}

// onTimer runs when the session's timer fires.
func (s *session) onTimer() {
	cfg := &s.loop.srv.cfg
	switch s.phase {
	case phaseRequest:
		if s.State() != conn.StateHead {
			return
		}
		// An idle keep-alive connection just closes; one in the middle of
		// a request gets 408 (slowloris).
		if s.gc.InboundBuffered() > 0 {
			env := &s.loop.env
			s.Reject(env, 408, nil)
			s.loop.flush(s)
		}
		s.closeSocket(conn.ReasonHandshakeTimeout)
	case phaseHold:
		if s.kind == kindPoll && s.State() == conn.StateParked {
			s.finishPoll()
		}
	case phasePing:
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
			s.close(conn.ReasonIdleTimeout)
			return
		}
		s.arm(phasePing, max(cfg.PingInterval-cfg.PongTimeout, cfg.Tick))
	case phaseClose:
		s.closeSocket(s.Reason())
	}
}

// close ends the session for reason r: a WebSocket gets its close frame.
// Any time on the owning loop.
func (s *session) close(r conn.Reason) {
	if s.State() == conn.StateClosed {
		return
	}
	s.dropSubscriptions()
	env := &s.loop.env
	if s.kind == kindStream {
		env.Out = append(env.Out, "0\r\n\r\n"...) // the last chunk ends the body cleanly
	}
	s.Close(env, r)
	s.loop.flush(s)
	if s.State() == conn.StateClosing {
		s.arm(phaseClose, s.loop.srv.cfg.CloseTimeout)
		return
	}
	s.closeSocket(r)
}

// closeSocket asks gnet to flush what is queued and close the socket;
// OnClose follows. It writes nothing itself: output goes through the loop's
// shared buffer, and bytes left there would reach the next connection.
func (s *session) closeSocket(r conn.Reason) {
	s.Abort(r)
	s.loop.wheel.Cancel(&s.timer)
	_ = s.gc.Close()
}

// dropSubscriptions leaves every channel.
func (s *session) dropSubscriptions() {
	for len(s.subs) > 0 {
		s.loop.unsubscribe(s, len(s.subs)-1)
	}
}

// lingers reports whether a closed connection keeps reading for a while:
// an HTTP request refused as too big (413, 414, 431) usually still has
// bytes on the way, and closing with unread data makes the kernel send a
// reset that can destroy the answer before the client reads it. So the
// connection swallows what arrives (Feed discards everything once closed)
// until the client closes or CloseTimeout ends (RFC 9112 §9.6, "lingering
// close"). Memory stays bounded: nothing is kept.
func (s *session) lingers() bool {
	return s.kind == kindHTTP && s.Reason() == conn.ReasonTooBig
}

// afterFeed applies what a Feed changed: the next timer, or the close.
func (s *session) afterFeed(before conn.State) {
	st := s.State()
	switch {
	case st == conn.StateClosed && s.lingers():
		if before != conn.StateClosed {
			// arm refuses closed sessions; this is the one timer they get.
			s.phase = phaseClose
			s.loop.wheel.Schedule(&s.timer, s.loop.srv.cfg.ticks(s.loop.srv.cfg.CloseTimeout))
		}
	case st == conn.StateClosed:
		s.dropSubscriptions()
		s.loop.wheel.Cancel(&s.timer)
	case st == before:
	case st == conn.StateWebSocket:
		s.arm(phasePing, s.loop.srv.cfg.PingInterval)
	case st == conn.StateClosing:
		s.dropSubscriptions()
		s.arm(phaseClose, s.loop.srv.cfg.CloseTimeout)
	case st == conn.StateHead:
		s.arm(phaseRequest, s.loop.srv.cfg.HandshakeTimeout)
	}
}
