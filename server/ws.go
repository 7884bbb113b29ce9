package server

import (
	"errors"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
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
	if err := s.loop.srv.conf().msgLimits.ParseClientMessage(payload, &m); err != nil {
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
	case protocol.OpTyping:
		s.typing(env, &m)
	case protocol.OpPing:
		s.reply(env, protocol.AppendPong(s.scratch(), m.ID))
	case protocol.OpRefresh:
		s.refresh(env, &m)
	case protocol.OpPresence:
		s.presence(env, &m)
	case protocol.OpDM:
		s.dm(env, &m, fromWebSocket)
	case protocol.OpAck, protocol.OpRead, protocol.OpUnread:
		s.inboxProceed(s.inboxRequest(&m, fromWebSocket))
	default:
		s.replyErr(env, m.ID, errNotServed)
	}
}

// errNotServed answers an op this node does not serve (an inbox ack on a
// node without an inbox).
var errNotServed = &protocol.Error{Code: 501, Reason: "not served by this node"}

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
	if len(s.subs) >= srv.conf().MaxSubscriptions {
		s.replyErr(env, m.ID, protocol.ErrTooManySubs)
		return
	}
	if !protocol.ValidEpoch(m.Epoch) { // the same limit as in HTTP cursors
		s.replyErr(env, m.ID, protocol.ErrorOf(protocol.ErrBadPosition))
		return
	}
	var tokens []auth.SubscriptionToken
	if m.Token != "" {
		t, err := s.verifySubToken(m.Token)
		if err != nil {
			s.replyErr(env, m.ID, authError(err))
			return
		}
		tokens = append(s.loop.tokens[:0], t)
	}
	if e := s.mayRead(m.Channel, tokens); e != nil {
		s.replyErr(env, m.ID, e)
		return
	}
	r := s.newRequest(opJoin)
	r.id = m.ID
	r.limit = s.replayLimit()
	s.addJoin(r, m.Channel, broker.Position{Epoch: m.Epoch, Seq: m.Since}, m.HasSince)
	s.submit(r)
}

// onSubscribed answers a WebSocket subscribe (or the joins of a connect):
// per channel, the sub reply, then the replay.
func (s *session) onSubscribed(r *request) {
	env := &s.loop.env
	for k := range r.chans {
		if s.isGone() || s.State() == conn.StateClosed {
			return
		}
		c := &r.chans[k]
		i, held, err := s.applyJoin(c)
		if err != nil {
			e := engineError(err)
			if r.connect {
				e = &protocol.Error{Code: e.Code, Reason: c.name + ": " + e.Reason}
			}
			s.replyErr(env, r.id, e)
			continue
		}
		if i < 0 {
			continue // unsubscribed meanwhile
		}
		s.loop.collectReplay(c, held)
		ss := &s.subs[i]
		reply := protocol.SubReply{ID: r.id, Channel: ss.lc.name, Epoch: []byte(ss.epoch), Seq: c.st.Top,
			HasSince: c.hasSince, Recovered: c.rec.Recovered, Missed: c.rec.Missed}
		s.reply(env, protocol.AppendSubReply(s.scratch(), &reply))
		s.loop.flush(s)
		s.writeReplay(i, c.st.Top)
	}
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

// admitPublish is the one rule for what a client sends into a channel
// (a publish, typing, a DM): the size first, so that an oversized message
// costs no token, then the connection's rate.
func (s *session) admitPublish(size int) *protocol.Error {
	cfg := &s.loop.srv.conf().Config
	if size > cfg.MaxMessageBytes {
		return protocol.ErrPayloadTooBig
	}
	if !s.bucket.take(cfg, s.loop.now()) {
		return protocol.ErrRateLimited
	}
	return nil
}

// publish sends a client's message to the engine; onPublished answers.
// WebSocket pub and POST /send share it, so both transports answer alike.
func (s *session) publish(env *conn.Env, m *protocol.ClientMessage, from publishFrom) {
	if e := s.admitPublish(len(m.Data)); e != nil {
		s.publishFailed(env, m.ID, from, e)
		return
	}
	if e := s.mayPublish(m.Channel, nil); e != nil {
		s.publishFailed(env, m.ID, from, e)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.id, r.from, r.echo, r.idem = m.Channel, m.Data, m.ID, from, m.Echo, m.Idem
	s.stampPublish(r)
	s.submit(r)
}

// sendPublish publishes a POST /send pub once its client is known: the
// request is authenticated like any other (admit), then authorized and
// stamped in proceed.
func (s *session) sendPublish(env *conn.Env, req *codec.Request, m *protocol.ClientMessage) {
	if e := s.admitPublish(len(m.Data)); e != nil {
		s.publishFailed(env, m.ID, fromSend, e)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.id, r.from, r.echo, r.idem = m.Channel, m.Data, m.ID, fromSend, m.Echo, m.Idem
	s.admit(req, "send", r)
}

// sendTyping is typing for POST /send: the client is known once the
// request is admitted (proceed checks the channel like a publish).
func (s *session) sendTyping(env *conn.Env, req *codec.Request, m *protocol.ClientMessage) {
	data := m.Data
	if len(data) == 0 {
		data = typingData
	}
	if e := s.admitPublish(len(data)); e != nil {
		s.publishFailed(env, m.ID, fromSend, e)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.id, r.from = m.Channel, data, m.ID, fromSend
	r.opts.Ephemeral = true
	s.admit(req, "send", r)
}

// typing sends an ephemeral signal to a channel's subscribers: delivered
// live with seq 0 and stored nowhere ({"typing":true} unless data says
// otherwise). The same permission as publishing applies.
func (s *session) typing(env *conn.Env, m *protocol.ClientMessage) {
	if e := s.mayPublish(m.Channel, nil); e != nil {
		s.replyErr(env, m.ID, e)
		return
	}
	data := m.Data
	if len(data) == 0 {
		data = typingData
	}
	if e := s.admitPublish(len(data)); e != nil {
		s.replyErr(env, m.ID, e)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.id, r.from = m.Channel, data, m.ID, fromWebSocket
	r.opts.Ephemeral = true
	r.opts.Publisher = s.publisher(false)
	s.submit(r)
}

var typingData = []byte(`{"typing":true}`)

// refresh replaces the connection's token in place: same user (and
// device), a later expiry. The connection stays; its subscriptions too.
func (s *session) refresh(env *conn.Env, m *protocol.ClientMessage) {
	a := &s.loop.srv.conf().Config.Auth
	if a.Policy == nil || a.Verifier == nil || s.who == nil {
		s.replyErr(env, m.ID, errNotServed)
		return
	}
	id, err := a.Verifier.Refresh(&s.who.id, m.Token)
	if err != nil {
		s.replyErr(env, m.ID, authError(err))
		return
	}
	s.who.id, s.who.token = id, m.Token
	b := append(s.scratch(), `{"op":"ok"`...)
	if m.ID != "" {
		b = append(b, `,"id":`...)
		b = protocol.AppendJSONString(b, m.ID)
	}
	if !id.Expiry.IsZero() {
		b = append(b, `,"exp":`...)
		b = appendInt(b, int(id.Expiry.Unix()))
	}
	s.reply(env, append(b, '}'))
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
	if len(r.results) > 0 && r.from != fromAPI {
		// A client's DM: the answer is the sender's position, or the
		// first failure.
		r.pos, r.err = r.results[0].pos, nil
		for _, res := range r.results {
			if res.err != nil {
				r.err = res.err
				break
			}
		}
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
