package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// newLogger makes the process's logger: text or JSON lines (log-format)
// at a level a reload can change, with repeated warnings rate-limited.
// Nothing in Comet logs a message payload: connection events carry the
// transport, the reason, the peer and the user, never data.
func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(newRepeatLimiter(h, warnInterval))
}

// warnInterval is how often one warning may be logged.
const warnInterval = 5 * time.Second

// repeatLimiter passes a warning or error at most once per interval per
// message, adding to the next one let through how many were suppressed,
// so that a storm (a scanner, a flapping backend) costs a line every few
// seconds. Below warn it passes everything: debug and info lines are
// the operator's choice of level.
type repeatLimiter struct {
	slog.Handler
	interval time.Duration
	state    *repeatState // shared by every With of one logger
}

type repeatState struct {
	mu   sync.Mutex
	seen map[string]*repeatCount
}

type repeatCount struct {
	last       time.Time
	suppressed int
}

// maxRepeatMessages bounds the messages remembered; past it the memory
// starts over (messages are constants, so this is never reached in
// practice).
const maxRepeatMessages = 1024

func newRepeatLimiter(h slog.Handler, interval time.Duration) *repeatLimiter {
	return &repeatLimiter{Handler: h, interval: interval, state: &repeatState{seen: make(map[string]*repeatCount)}}
}

func (r *repeatLimiter) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelWarn {
		return r.Handler.Handle(ctx, rec)
	}
	st := r.state
	st.mu.Lock()
	c := st.seen[rec.Message]
	if c == nil {
		if len(st.seen) >= maxRepeatMessages {
			clear(st.seen)
		}
		c = &repeatCount{}
		st.seen[rec.Message] = c
	}
	if !c.last.IsZero() && rec.Time.Sub(c.last) < r.interval {
		c.suppressed++
		st.mu.Unlock()
		return nil
	}
	n := c.suppressed
	c.last, c.suppressed = rec.Time, 0
	st.mu.Unlock()
	if n > 0 {
		rec = rec.Clone()
		rec.AddAttrs(slog.Int("suppressed", n))
	}
	return r.Handler.Handle(ctx, rec)
}

func (r *repeatLimiter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &repeatLimiter{Handler: r.Handler.WithAttrs(attrs), interval: r.interval, state: r.state}
}

func (r *repeatLimiter) WithGroup(name string) slog.Handler {
	return &repeatLimiter{Handler: r.Handler.WithGroup(name), interval: r.interval, state: r.state}
}
