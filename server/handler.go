package server

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// engineHandler implements gnet.EventHandler. OnOpen, OnTraffic and OnClose
// run on the connection's event loop; OnBoot and OnTick do not.
type engineHandler struct {
	gnet.BuiltinEventEngine
	srv *Server
}

// OnBoot records the engine and the address actually bound (port 0 is
// resolved through a dup of the listening socket).
func (h *engineHandler) OnBoot(eng gnet.Engine) gnet.Action {
	srv := h.srv
	srv.eng = eng
	srv.addr = srv.conf().Addr
	if fd, err := eng.Dup(); err == nil {
		if sa, err := unix.Getsockname(fd); err == nil {
			if in4, ok := sa.(*unix.SockaddrInet4); ok {
				srv.addr = (&net.TCPAddr{IP: net.IP(in4.Addr[:]), Port: in4.Port}).String()
			} else if in6, ok := sa.(*unix.SockaddrInet6); ok {
				srv.addr = (&net.TCPAddr{IP: net.IP(in6.Addr[:]), Port: in6.Port}).String()
			}
		}
		_ = unix.Close(fd)
	}
	close(srv.booted)
	return gnet.None
}

// OnOpen admits the connection (admission.go) and gives it a session on
// its loop. While draining, new connections are closed at once: gnet
// cannot close only its listener.
func (h *engineHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	srv := h.srv
	if srv.draining.Load() {
		return nil, gnet.Close
	}
	l := srv.loopOf(gc.EventLoop())
	count, refusal := srv.admit(gc)
	if refusal != nil {
		l.stats.refused[refusal.reason].add(1)
		return refusal.answer, gnet.Close
	}
	s := newSession(l, gc)
	s.admitted = count
	l.addSession(s)
	gc.SetContext(s)
	l.stats.accepted.add(1)
	l.stats.open[kindHTTP].add(1)
	s.logOpen()
	return nil, gnet.None
}

// OnTraffic feeds buffered bytes to the connection's state machine and
// writes what it answers.
func (h *engineHandler) OnTraffic(gc gnet.Conn) gnet.Action {
	s, ok := gc.Context().(*session)
	if !ok {
		return gnet.Close
	}
	l := s.loop
	defer l.recoverPanic(s)
	s.lastRead = int32(l.now())
	if s.has(flagGone | flagClosing) {
		return gnet.None
	}
	set := l.srv.conf()
	l.takeLimits(set)
	cfg := &set.Config
	inCap := cfg.MaxHeaderBytes + cfg.MaxBodyBytes
	switch {
	case s.State() == conn.StateParked || s.has(flagInputWait|flagAuthWait):
		// Requests pipelined behind a parked request, or frames waiting
		// for an in-flight slot, wait in gnet's buffer, but only up to one
		// request's worth of bytes.
		if gc.InboundBuffered() > inCap+cfg.MaxMessageBytes {
			s.Abort(conn.ReasonTooBig)
			s.settle()
		}
		return gnet.None
	case s.inflight >= uint8(cfg.MaxInFlight):
		s.flags |= flagInputWait // completions resume it
		return gnet.None
	}
	if need := s.Need(); need > 0 && gc.InboundBuffered() < need {
		return gnet.None // a large frame or body is still arriving
	}
	in, _ := gc.Peek(-1)
	before := s.State()
	l.env.Out = l.env.Out[:0] // never send another connection's leftovers
	l.feeding = s
	n := s.Feed(&l.env, s, in)
	l.feeding = nil
	if n > 0 {
		// Not Discard(0): gnet treats n <= 0 as "discard everything".
		_, _ = gc.Discard(n)
		l.stats.bytesIn.add(int64(n))
	}
	l.flush(s)
	s.afterFeed(before)
	return gnet.None
}

// OnClose releases the session: its subscriptions, timer and buffers.
func (h *engineHandler) OnClose(gc gnet.Conn, err error) gnet.Action {
	s, ok := gc.Context().(*session)
	if !ok {
		return gnet.None
	}
	l := s.loop
	defer l.recoverPanic(nil)
	s.flags |= flagGone
	s.gen++
	s.dropSubscriptions()
	l.wheel.Cancel(&s.timer)
	s.Closed()
	l.removeSession(s)
	gc.SetContext(nil)
	h.srv.release(s.admitted)
	l.stats.open[s.kind].add(-1)
	l.stats.closed[s.Reason()].add(1)
	l.stats.closedBy[s.kind][s.Reason()].add(1)
	s.logClose(err)
	switch s.Reason() {
	case conn.ReasonProtocol, conn.ReasonBadUTF8, conn.ReasonTooBig, conn.ReasonSlowConsumer,
		conn.ReasonIdleTimeout, conn.ReasonMessageTimeout, conn.ReasonInternal:
		h.srv.log.Debug("connection closed", "reason", s.Reason().String(), "err", err)
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine: it must not touch loop state, so
// it posts one tick task per loop.
func (h *engineHandler) OnTick() (time.Duration, gnet.Action) {
	srv := h.srv
	for _, l := range *srv.loops.Load() {
		_ = l.el.Execute(context.Background(), l.tickTask)
	}
	return srv.conf().Tick, gnet.None
}

// recoverPanic turns a panic while serving s into the loss of s alone: gnet
// recovers nothing, and one bad connection must not kill the process. It
// must be deferred directly.
func (l *loop) recoverPanic(s *session) {
	r := recover()
	if r == nil {
		return
	}
	l.feeding = nil
	// A panic inside a coalesced delivery leaves the loop corked on one
	// session: its queued bytes must go nowhere, never to the next
	// session corked.
	l.cork = nil
	clear(l.corkParts)
	l.corkParts, l.arena = l.corkParts[:0], l.arena[:0]
	// The rest of a drain's backlog is dropped, not retried: the message
	// that panicked would panic again on every drain. Subscribers see the
	// gap at the next message and resync from history.
	if l.backlog != nil {
		clear(l.backlog)
		l.backlog, l.backlogAt = nil, 0
		l.rescheduleIfPending()
	}
	l.srv.stats.panics.Add(1)
	l.srv.log.Error("panic while serving a connection", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if s == nil || s.isGone() {
		return
	}
	l.env.Out = l.env.Out[:0]
	s.dropSubscriptionsSafely()
	s.Abort(conn.ReasonInternal)
	s.closeSocket()
}

// dropSubscriptionsSafely leaves channels after a panic, which may have left
// the session's lists inconsistent; a second fault only logs.
func (s *session) dropSubscriptionsSafely() {
	defer func() { _ = recover() }()
	s.dropSubscriptions()
}
