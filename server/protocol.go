package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/gobwas/ws"
)

// Error codes of "err" replies (docs/PROTOCOL.md).
const (
	errCodeBadRequest     = 400
	errCodeAlreadyJoined  = 409
	errCodeTooManySubs    = 429
	errCodeChannelsFull   = 503
	errCodeMessageTooBig  = 413
	errCodeInternalServer = 500
)

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
	var m codec.ClientMessage
	if err := codec.ParseClientMessage(payload, &m); err != nil {
		s.replyErr(env, m.ID, errCodeBadRequest, errorText(err))
		return
	}
	switch m.Op {
	case codec.OpSub:
		s.subscribe(env, &m)
	case codec.OpUnsub:
		s.unsubscribe(env, &m)
	case codec.OpPub:
		s.publish(env, &m)
	case codec.OpPing:
		s.reply(env, codec.AppendPong(s.scratch(), m.ID))
	}
}

// scratch returns the loop's empty reply buffer to append a reply to.
func (s *session) scratch() []byte { return s.loop.replyBuf[:0] }

// reply sends msg, built in scratch, as one text frame.
func (s *session) reply(env *conn.Env, msg []byte) {
	s.loop.replyBuf = msg
	s.WriteMessage(env, ws.OpText, msg)
}

func (s *session) replyErr(env *conn.Env, id string, code int, reason string) {
	s.reply(env, codec.AppendErr(s.scratch(), id, code, reason))
}

// subscribe joins a channel, replaying history after since when asked. The
// reply, the replay and the subscription are made under the channel's lock,
// so no message falls between replay and live delivery.
func (s *session) subscribe(env *conn.Env, m *codec.ClientMessage) {
	l, srv := s.loop, s.loop.srv
	for _, ss := range s.subs {
		if ss.lc.ch.name == m.Channel {
			s.replyErr(env, m.ID, errCodeAlreadyJoined, "already subscribed")
			return
		}
	}
	if len(s.subs) >= srv.cfg.MaxSubscriptions {
		s.replyErr(env, m.ID, errCodeTooManySubs, "too many subscriptions")
		return
	}
	ch, err := srv.channels.lockChannel(m.Channel, srv.cfg.MaxChannels)
	if err != nil {
		s.replyErr(env, m.ID, errCodeChannelsFull, errorText(err))
		return
	}
	ch.hist.expire(nowMillis() - srv.cfg.HistoryTTL.Milliseconds())
	r := codec.SubReply{ID: m.ID, Channel: ch.name, Epoch: ch.epoch, Seq: ch.seq, HasSince: m.HasSince}
	l.replay = l.replay[:0]
	if m.HasSince {
		since := m.Since
		// A since from another epoch (a restarted node, a recreated
		// channel) or from the future names nothing here: replay what is
		// kept of this epoch and say recovery failed.
		sameEpoch := m.Epoch == "" || m.Epoch == ch.epoch
		if !sameEpoch || since > ch.seq {
			since = 0
		}
		oldest := ch.hist.oldestSeq()
		r.Recovered = sameEpoch && m.Since <= ch.seq &&
			(since == ch.seq || (oldest != 0 && oldest <= since+1))
		l.replay = ch.hist.after(l.replay, since)
	}
	l.subscribe(s, ch, ch.seq)
	ch.mu.Unlock()

	s.reply(env, codec.AppendSubReply(s.scratch(), &r))
	if len(l.replay) > 0 {
		l.flush(s)
		for i, msg := range l.replay {
			_, _ = s.gc.Write(msg.frame)
			l.replay[i] = nil
		}
		if s.gc.OutboundBuffered() > srv.cfg.MaxOutboundBytes {
			s.Close(env, ReasonSlowConsumer)
		}
	}
}

func (s *session) unsubscribe(env *conn.Env, m *codec.ClientMessage) {
	for i, ss := range s.subs {
		if ss.lc.ch.name == m.Channel {
			s.loop.unsubscribe(s, i)
			break
		}
	}
	// Leaving a channel one is not in is not an error: the outcome is the
	// same, and clients retrying after a reconnect need not track it.
	if m.ID != "" {
		s.reply(env, codec.AppendOK(s.scratch(), m.ID, 0))
	}
}

func (s *session) publish(env *conn.Env, m *codec.ClientMessage) {
	seq, err := s.loop.srv.Publish(m.Channel, m.Data)
	if err != nil {
		code, known := publishErrorStatus(err)
		if !known {
			code = errCodeInternalServer
		}
		s.replyErr(env, m.ID, code, errorText(err))
		return
	}
	if m.ID != "" {
		s.reply(env, codec.AppendOK(s.scratch(), m.ID, seq))
	}
}
