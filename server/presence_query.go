package server

import (
	"context"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// Presence queries: the WebSocket presence op, and the backend API's
// GET /api/presence (by channel, or a user's devices).

// maxPresenceList bounds the clients one presence answer lists; the
// counts are always complete, and "truncated":true says the list is not.
const maxPresenceList = 1000

// errNoPresence answers a presence query where presence is not kept.
var errNoPresence = &protocol.Error{Code: 404, Reason: "presence is not kept for this channel"}

// presence answers {"op":"presence","ch":…}: who is present in ch, for a
// client allowed to see it.
func (s *session) presence(env *conn.Env, m *protocol.ClientMessage) {
	r := s.newRequest(opPresence)
	r.channel, r.id, r.from = m.Channel, m.ID, fromWebSocket
	s.presenceProceed(r)
}

// presenceProceed checks a presence query of a known client and submits
// it. A WebSocket sees the presence of what it is subscribed to; an HTTP
// client (POST /send) of what it may read.
func (s *session) presenceProceed(r *request) {
	srv := s.loop.srv
	e := (*protocol.Error)(nil)
	if !srv.tracked(r.channel) {
		e = errNoPresence
	} else if p := srv.conf().Auth.Policy; p != nil {
		subscribed := s.subIndex(r.channel) >= 0
		if r.from == fromSend {
			subscribed = s.mayRead(r.channel, nil) == nil
		}
		if d := p.CanSeePresence(s.identityOf(), r.channel, subscribed); !d.Allowed {
			e = &protocol.Error{Code: d.Reason.Code(), Reason: d.Reason.String()}
		}
	}
	if e != nil {
		id, from := r.id, r.from
		s.loop.release(r)
		s.inboxFailed(&s.loop.env, id, from, e)
		return
	}
	s.submit(r)
}

// runPresenceQuery reads a channel's presence for r.
func (r *request) runPresenceQuery(ctx context.Context, srv *Server) {
	p := srv.conf().Presence
	r.present, r.err = p.Presence(ctx, r.channel, r.present[:0])
	if r.err == nil {
		r.pstats, r.err = p.PresenceStats(ctx, r.channel)
	}
}

// onPresence answers a presence query.
func (s *session) onPresence(r *request) {
	if r.err != nil {
		s.inboxFailed(&s.loop.env, r.id, r.from, engineError(r.err))
		return
	}
	b := s.scratch()
	if r.from == fromWebSocket || r.from == fromSend {
		b = append(b, `{"op":"presence"`...)
		if r.id != "" {
			b = append(b, `,"id":`...)
			b = protocol.AppendJSONString(b, r.id)
		}
		b = append(b, ',')
	} else {
		b = append(b, '{')
	}
	b = appendPresenceBody(b, r.channel, r.present, r.pstats)
	b = append(b, '}')
	switch r.from {
	case fromWebSocket:
		s.reply(&s.loop.env, b)
		return
	case fromSend:
		s.loop.replyBuf = b
		s.respondJSON(200, b, true)
		return
	}
	s.loop.replyBuf = b
	s.respondJSON(200, b, false)
}

// appendPresenceBody appends "ch":…,"connections":N,"users":M,"clients":[…].
func appendPresenceBody(dst []byte, channel string, present []broker.PresenceInfo, st broker.PresenceStats) []byte {
	dst = append(dst, `"ch":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","connections":`...)
	dst = appendInt(dst, st.Connections)
	dst = append(dst, `,"users":`...)
	dst = appendInt(dst, st.Users)
	if len(present) > maxPresenceList {
		present = present[:maxPresenceList]
		dst = append(dst, `,"truncated":true`...)
	}
	dst = append(dst, `,"clients":[`...)
	for i, p := range present {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPresenceJSON(dst, p)
	}
	return append(dst, ']')
}
