package admin

import (
	"log/slog"
	"sync"
	"time"
)

// warnEvery logs a repeated warning at most once per interval, with the
// number suppressed since the last line: a scanner knocking on the admin
// port costs a line every few seconds, not one per request.
type warnEvery struct {
	log      *slog.Logger
	msg      string
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newWarnEvery(log *slog.Logger, msg string, interval time.Duration) *warnEvery {
	return &warnEvery{log: log, msg: msg, interval: interval}
}

func (w *warnEvery) note(args ...any) {
	now := time.Now()
	w.mu.Lock()
	if now.Sub(w.last) < w.interval {
		w.suppressed++
		w.mu.Unlock()
		return
	}
	n := w.suppressed
	w.last, w.suppressed = now, 0
	w.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	w.log.Warn(w.msg, args...)
}
