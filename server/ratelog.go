package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLimited logs a repeated condition at most once per interval, with
// how many times it happened in between, so that a storm (running out of
// file descriptors under a connection flood) costs one line every few
// seconds, not one per event. Any goroutine.
type rateLimited struct {
	log      *slog.Logger
	level    slog.Level
	msg      string
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newRateLimited(log *slog.Logger, level slog.Level, msg string, interval time.Duration) *rateLimited {
	return &rateLimited{log: log, level: level, msg: msg, interval: interval}
}

// note records one occurrence, logging it unless one was logged within
// the interval.
func (r *rateLimited) note(now time.Time, args ...any) {
	r.mu.Lock()
	if now.Sub(r.last) < r.interval {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Log(context.Background(), r.level, r.msg, args...)
}
