package server

import (
	"context"
	"time"
)

// Readiness: a node whose engine cannot be reached says so on /healthz
// (503 "engine unavailable") so that a load balancer stops sending it new
// clients, while the clients it has keep what they can (their
// subscriptions recover when the engine is back). Config.Ready is asked
// once a second on its own goroutine; the loops only read the answer.

// readyInterval is how often Config.Ready is asked.
const readyInterval = time.Second

// watchReady keeps s.notReady up to date until stop is closed.
func (s *Server) watchReady(stop <-chan struct{}) {
	defer s.sweepDone.Done()
	t := time.NewTicker(readyInterval)
	defer t.Stop()
	for {
		s.checkReady()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// checkReady asks Config.Ready once and logs a change.
func (s *Server) checkReady() {
	ctx, cancel := context.WithTimeout(context.Background(), readyInterval)
	err := s.conf().Ready(ctx)
	cancel()
	was := s.notReady.Swap(err != nil)
	switch {
	case err != nil && !was:
		s.conf().Logger.Warn("not ready: the engine is unreachable; /healthz answers 503", "err", err)
	case err == nil && was:
		s.conf().Logger.Info("ready again: the engine answers")
	}
}

// Ready reports whether the node takes new clients: it is not draining and
// its engine answers. Any goroutine.
func (s *Server) Ready() bool {
	return !s.draining.Load() && !s.notReady.Load()
}
