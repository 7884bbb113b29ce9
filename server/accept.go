package server

import (
	"errors"
	"sync"
	"syscall"
	"time"
)

// Accept errors. Running out of file descriptors (EMFILE for the process,
// ENFILE for the system) or of kernel memory must not stop the node: the
// patched gnet (third_party/gnet, COMET-PATCHES.md) sheds what waits in
// the backlog, pauses accepting for the duration this handler returns,
// and tries again, while established connections are served throughout.
// Any other accept error is taken as fatal: the engine stops and the
// process exits non-zero (cmd/comet), so a supervisor restarts it.

// acceptBackoff paces accepting while descriptors are short: the pause
// doubles from minAcceptPause to maxAcceptPause while errors keep coming,
// and starts over after a quiet second.
type acceptBackoff struct {
	mu    sync.Mutex
	pause time.Duration
	last  time.Time
}

const (
	minAcceptPause = 10 * time.Millisecond
	maxAcceptPause = time.Second
)

// onAcceptError is gnet's AcceptErrorHandler. It runs on the goroutine
// that accepts and must not block.
func (s *Server) onAcceptError(err error) time.Duration {
	s.stats.acceptErrs.Add(1)
	now := time.Now()
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) &&
		!errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.ENOMEM) {
		s.log.Error("accept failed; stopping", "err", err)
		return -1
	}
	b := &s.acceptBackoff
	b.mu.Lock()
	switch {
	case now.Sub(b.last) > time.Second+b.pause:
		b.pause = minAcceptPause
	default:
		b.pause = min(2*b.pause, maxAcceptPause)
	}
	b.last = now
	pause := b.pause
	b.mu.Unlock()
	s.acceptWarn.note(now, "err", err, "pause", pause, "open", s.adm.conns.Load())
	return pause
}
