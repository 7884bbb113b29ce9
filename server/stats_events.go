package server

import (
	"context"
	"log/slog"

	"github.com/comet-im/comet/conn"
)

// Connection-level events at debug: one line when a connection opens and
// one when it closes, with its transport and reason, never a payload.
// Enabled is asked first, so that a node logging at info pays one call
// per connection and builds no attributes.

// logOpen logs a new connection. Loop-owned.
func (s *session) logOpen() {
	log := s.loop.srv.log
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	log.LogAttrs(context.Background(), slog.LevelDebug, "connection opened",
		slog.String("remote", remoteOf(s)), slog.Int("loop", s.loop.idx))
}

// logClose logs a closed connection, unless OnClose's own line for
// abnormal reasons already did (closedLoggedElsewhere). Loop-owned.
func (s *session) logClose(err error) {
	log := s.loop.srv.log
	r := s.Reason()
	if closedLoggedElsewhere(r) || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("reason", r.String()),
		slog.String("transport", s.transport().name),
		slog.String("remote", remoteOf(s)),
	}
	if s.who != nil && s.who.id.User != "" {
		attrs = append(attrs, slog.String("user", s.who.id.User))
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	log.LogAttrs(context.Background(), slog.LevelDebug, "connection closed", attrs...)
}

// closedLoggedElsewhere lists the reasons engineHandler.OnClose logs
// itself, so that each close is one line.
func closedLoggedElsewhere(r conn.Reason) bool {
	switch r {
	case conn.ReasonProtocol, conn.ReasonBadUTF8, conn.ReasonTooBig, conn.ReasonSlowConsumer,
		conn.ReasonIdleTimeout, conn.ReasonMessageTimeout, conn.ReasonInternal:
		return true
	}
	return false
}

// remoteOf is the TCP peer of s, for logs.
func remoteOf(s *session) string {
	if a := s.gc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
