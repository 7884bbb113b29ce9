package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/panjf2000/gnet/v2"
)

// Draining (docs/OPERATIONS.md, "Draining a node"). A node that is told to
// stop turns unready at once (new connections are refused, /healthz
// answers 503), waits DrainDelay for load balancers to notice, then closes
// its clients spread evenly over DrainWindow in a random order, so that
// they reconnect to the other nodes a few at a time instead of all in the
// same second. WebSockets get 1001 (reconnect), streams their close event
// with 1001, parked long-polls their answer (with Connection: close);
// every client resumes from its position on another node, so nothing it
// was sent is lost. Then the node waits up to DrainTimeout for the last
// clients to go and stops.

// drainStep is how often the spread close advances.
const drainStep = 20 * time.Millisecond

// Shutdown drains the server as above and returns when every connection is
// gone or when ctx or the drain deadline ends, then stops the event loops,
// the workers and the engine.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.draining.CompareAndSwap(false, true) {
		return errors.New("server: already shutting down")
	}
	cfg := s.conf()
	ctx, cancel := context.WithTimeout(ctx, cfg.DrainDelay+cfg.DrainWindow+cfg.DrainTimeout)
	defer cancel()
	if !s.sleep(ctx, cfg.DrainDelay) {
		return s.stop()
	}
	start := time.Now()
	tick := time.NewTicker(drainStep)
	defer tick.Stop()
	for {
		frac := 1.0
		if cfg.DrainWindow > 0 {
			frac = min(1, float64(time.Since(start))/float64(cfg.DrainWindow))
		}
		s.onLoops(ctx, func(l *loop) { l.drainUpTo(frac) })
		if frac >= 1 {
			break
		}
		select {
		case <-ctx.Done():
			return s.stop()
		case <-s.done:
			return s.stop()
		case <-tick.C:
		}
	}
	for s.adm.conns.Load() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("drain deadline reached", "open", s.adm.conns.Load())
			return s.stop()
		case <-s.done:
			return s.stop()
		case <-tick.C:
		}
	}
	return s.stop()
}

// sleep waits d; false if ctx ended or the engine stopped first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// onLoops runs fn on every loop, on the loop's goroutine.
func (s *Server) onLoops(ctx context.Context, fn func(*loop)) {
	for _, l := range *s.loops.Load() {
		_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			defer l.recoverPanic(nil)
			fn(l)
			return nil
		}))
	}
}

// planDrain fixes the order in which the loop's sessions are closed: a
// random one, so that no class of client (the oldest, one transport) goes
// first everywhere.
func (l *loop) planDrain() {
	l.drainOrder = append(l.drainOrder[:0], l.sessions...)
	rand.Shuffle(len(l.drainOrder), func(i, j int) {
		l.drainOrder[i], l.drainOrder[j] = l.drainOrder[j], l.drainOrder[i]
	})
	l.drained = 0
}

// drainUpTo closes the sessions of the first frac of the drain order.
func (l *loop) drainUpTo(frac float64) {
	// Planned by the first step itself: the steps are tasks gnet may run
	// in another order than they were posted, so a separate planning task
	// could come after a step that then found nothing to close.
	if !l.drainPlanned {
		l.planDrain()
		l.drainPlanned = true
	}
	n := int(frac * float64(len(l.drainOrder)))
	if frac >= 1 {
		n = len(l.drainOrder)
	}
	for ; l.drained < n; l.drained++ {
		s := l.drainOrder[l.drained]
		l.drainOrder[l.drained] = nil
		if !s.isGone() {
			s.drain()
		}
	}
}

// drain closes one session for shutdown, the way its transport says.
func (s *session) drain() {
	switch {
	case s.kind == kindPoll && s.State() == conn.StateParked && s.http != nil:
		s.http.keepAlive = false // answered, then closed
		s.finishPoll()
	case s.State() == conn.StateWebSocket, s.State() == conn.StateParked:
		s.end(conn.ReasonShutdown) // WebSockets: 1001; streams: close event and trailer
	default:
		s.Abort(conn.ReasonShutdown)
		s.closeSocket()
	}
}
