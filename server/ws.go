package server

import (
	"errors"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
	"github.com/gobwas/ws"
)

// The native WebSocket protocol (docs/PROTOCOL.md): JSON text messages
// carrying sub, unsub, pub and ping requests.

// OnMessage handles one WebSocket message (conn.Handler).
func (s *session) OnMessage(env *conn.Env, op ws.OpCode, payload []byte) {
	if s.kind == kindEcho {
		s.WriteMessage(env, op, payload)
		return
	}
	if op != ws.OpText {
		s.Close(env, conn.ReasonUnsupported)
		return
	}
	var m protocol.ClientMessage
	if err := s.loop.srv.msgLimits.ParseClientMessage(payload, &m); err != nil {
		s.replyErr(env, m.ID, protocol.ErrorOf(err))
		return
	}
	switch m.Op {
	case protocol.OpSub:
		s.subscribe(env, &m)
	case protocol.OpUnsub:
		s.unsubscribe(env, &m)
	case protocol.OpPub:
		s.publish(env, &m, fromWebSocket)
	case protocol.OpPing:
		s.reply(env, protocol.AppendPong(s.scratch(), m.ID))
	}
}

// scratch returns the loop's empty reply buffer to append a reply to.
func (s *session) scratch() []byte { return s.loop.replyBuf[:0] }

// reply sends msg, built in scratch, as one text frame.
func (s *session) reply(env *conn.Env, msg []byte) {
	s.loop.replyBuf = msg
	s.WriteMessage(env, ws.OpText, msg)
}

func (s *session) replyErr(env *conn.Env, id string, e *protocol.Error) {
	s.reply(env, protocol.AppendError(s.scratch(), id, e))
}

// subscribe joins a channel for a WebSocket client, replaying history
// after since when asked.
func (s *session) subscribe(env *conn.Env, m *protocol.ClientMessage) {
	srv := s.loop.srv
	if s.subIndex(m.Channel) >= 0 {
		s.replyErr(env, m.ID, protocol.ErrAlreadyJoined)
		return
	}
	if len(s.subs) >= srv.cfg.MaxSubscriptions {
		s.replyErr(env, m.ID, protocol.ErrTooManySubs)
		return
	}
	if !protocol.ValidEpoch(m.Epoch) { // the same limit as in HTTP cursors
		s.replyErr(env, m.ID, protocol.ErrorOf(protocol.ErrBadPosition))
		return
	}
	r := s.newRequest(opJoin)
	r.id = m.ID
	r.limit = s.replayLimit()
	s.addJoin(r, m.Channel, broker.Position{Epoch: m.Epoch, Seq: m.Since}, m.HasSince)
	s.submit(r)
}

// onSubscribed answers a WebSocket subscribe: the sub reply, then the
// replay.
func (s *session) onSubscribed(r *request) {
	env := &s.loop.env
	c := &r.chans[0]
	i, held, err := s.applyJoin(c)
	if err != nil {
		s.replyErr(env, r.id, engineError(err))
		return
	}
	if i < 0 {
		return // unsubscribed meanwhile
	}
	s.loop.collectReplay(c, held)
	ss := &s.subs[i]
	reply := protocol.SubReply{ID: r.id, Channel: ss.lc.name, Epoch: []byte(ss.epoch), Seq: c.st.Top,
		HasSince: c.hasSince, Recovered: c.rec.Recovered}
	s.reply(env, protocol.AppendSubReply(s.scratch(), &reply))
	s.loop.flush(s)
	s.writeReplay(i, c.st.Top)
}

func (s *session) unsubscribe(env *conn.Env, m *protocol.ClientMessage) {
	if i := s.subIndex(m.Channel); i >= 0 {
		s.loop.unsubscribe(s, i)
	}
	// Leaving a channel one is not in is not an error: the outcome is the
	// same, and clients retrying after a reconnect need not track it.
	if m.ID != "" {
		s.reply(env, protocol.AppendOK(s.scratch(), m.ID, 0))
	}
}

// publishFrom says which door a publish came in by, and so how it is
// answered.
type publishFrom uint8

const (
	fromWebSocket publishFrom = iota // an ok (when asked with an id) or err frame
	fromSend                         // POST /send: the same reply as the HTTP body
	fromAPI                          // POST /api/publish: {"seq":N} or an error status
)

// publish sends a client's message to the engine; onPublished answers.
// WebSocket pub and POST /send share it, so both transports answer alike.
func (s *session) publish(env *conn.Env, m *protocol.ClientMessage, from publishFrom) {
	cfg := &s.loop.srv.cfg
	if len(m.Data) > cfg.MaxMessageBytes {
		s.publishFailed(env, m.ID, from, protocol.ErrPayloadTooBig)
		return
	}
	if !s.bucket.take(cfg, s.loop.now()) {
		s.publishFailed(env, m.ID, from, protocol.ErrRateLimited)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.id, r.from = m.Channel, m.Data, m.ID, from
	s.submit(r)
}

// publishFailed answers a publish refused before it reached the engine.
func (s *session) publishFailed(env *conn.Env, id string, from publishFrom, e *protocol.Error) {
	if from == fromWebSocket {
		s.replyErr(env, id, e)
		return
	}
	status := e.Code
	if from == fromSend {
		status = 200 // POST /send: the body says how the request went
	}
	s.respondJSON(status, protocol.AppendError(s.scratch(), id, e), from == fromSend)
}

// onPublished answers a publish the engine took or refused.
func (s *session) onPublished(r *request) {
	env := &s.loop.env
	if r.err == nil {
		s.loop.srv.stats.published.Add(1)
	}
	switch r.from {
	case fromWebSocket:
		// An ok is sent only when the client asked with an id; an err always.
		switch {
		case r.err != nil:
			s.replyErr(env, r.id, engineError(r.err))
		case r.id != "":
			s.reply(env, protocol.AppendOK(s.scratch(), r.id, r.pos.Seq))
		}
	case fromSend:
		if r.err != nil {
			s.respondJSON(200, protocol.AppendError(s.scratch(), r.id, engineError(r.err)), true)
		} else {
			s.respondJSON(200, protocol.AppendOK(s.scratch(), r.id, r.pos.Seq), true)
		}
	case fromAPI:
		s.apiPublished(r)
	}
}

// engineError maps an engine failure to what the client is told.
func engineError(err error) *protocol.Error {
	switch {
	case errors.Is(err, broker.ErrTooManyChannels):
		return protocol.ErrChannelsFull
	case errors.Is(err, broker.ErrUnavailable), errors.Is(err, broker.ErrClosed):
		return protocol.ErrEngineDown
	}
	return protocol.ErrorOf(err)
}
