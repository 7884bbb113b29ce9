package server

import (
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
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
	var m protocol.ClientMessage
	if err := protocol.ParseClientMessage(payload, &m); err != nil {
		s.replyErr(env, m.ID, errCodeBadRequest, errorText(err))
		return
	}
	switch m.Op {
	case protocol.OpSub:
		s.subscribe(env, &m)
	case protocol.OpUnsub:
		s.unsubscribe(env, &m)
	case protocol.OpPub:
		s.publish(env, &m)
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

func (s *session) replyErr(env *conn.Env, id string, code int, reason string) {
	s.reply(env, protocol.AppendErr(s.scratch(), id, code, reason))
}

// subscribe joins a channel for a WebSocket client, replaying history after
// since when asked.
func (s *session) subscribe(env *conn.Env, m *protocol.ClientMessage) {
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
	l.replay = l.replay[:0]
	r, err := l.join(s, bytesOf(m.Channel), bytesOf(m.Epoch), m.Since, m.HasSince)
	if err != nil {
		s.replyErr(env, m.ID, errCodeChannelsFull, errorText(err))
		return
	}
	r.ID = m.ID
	s.reply(env, protocol.AppendSubReply(s.scratch(), &r))
	if len(l.replay) > 0 {
		l.flush(s)
		for i, msg := range l.replay {
			_, _ = s.gc.Write(msg.frame)
			l.replay[i] = nil
		}
		if s.State() != conn.StateClosed && s.gc.OutboundBuffered() > srv.cfg.MaxOutboundBytes {
			s.Close(env, conn.ReasonSlowConsumer)
		}
	}
}

func (s *session) unsubscribe(env *conn.Env, m *protocol.ClientMessage) {
	for i, ss := range s.subs {
		if ss.lc.ch.name == m.Channel {
			s.loop.unsubscribe(s, i)
			break
		}
	}
	// Leaving a channel one is not in is not an error: the outcome is the
	// same, and clients retrying after a reconnect need not track it.
	if m.ID != "" {
		s.reply(env, protocol.AppendOK(s.scratch(), m.ID, 0))
	}
}

func (s *session) publish(env *conn.Env, m *protocol.ClientMessage) {
	// An ok is sent only when the client asked with an id; an err always.
	if reply, failed := s.publishReply(m); failed || m.ID != "" {
		s.reply(env, reply)
	}
}

// publishReply publishes m.Data and returns the reply its client gets, an
// ok with the seq or an err, built in scratch. WebSocket pub and POST /send
// share it, so both transports answer alike.
func (s *session) publishReply(m *protocol.ClientMessage) (reply []byte, failed bool) {
	seq, err := s.loop.srv.Publish(m.Channel, m.Data)
	if err != nil {
		return protocol.AppendErr(s.scratch(), m.ID, publishErrorCode(err), errorText(err)), true
	}
	return protocol.AppendOK(s.scratch(), m.ID, seq), false
}

// join subscribes s to channel name, appending to l.replay what history
// holds after since when hasSince is set. Replay and subscription happen
// under the channel's lock, so no message falls between replay and live
// delivery, and none is delivered twice. The new subscription's position
// is set to just before the first replayed message (or to the channel's
// seq), ready to advance as the replay is written.
func (l *loop) join(s *session, name, epoch []byte, since uint64, hasSince bool) (protocol.SubReply, error) {
	ch, err := l.srv.channels.lockChannel(name, l.srv.cfg.MaxChannels)
	if err != nil {
		return protocol.SubReply{}, err
	}
	r := l.joinLocked(s, ch, epoch, since, hasSince)
	ch.mu.Unlock()
	return r, nil
}

// joinLocked is join on a channel its caller has locked.
func (l *loop) joinLocked(s *session, ch *channel, epoch []byte, since uint64, hasSince bool) protocol.SubReply {
	l.epoch = l.srv.channels.appendEpoch(l.epoch[:0], ch)
	r := protocol.SubReply{Channel: ch.name, Epoch: l.epoch, Seq: ch.seq, HasSince: hasSince}
	start := len(l.replay)
	if hasSince {
		var from uint64
		from, r.Recovered = l.recoverFrom(ch, epoch, since)
		l.replay = ch.hist.after(l.replay, from)
	}
	l.subscribe(s, ch, ch.seq)
	sub := &s.subs[len(s.subs)-1]
	sub.seq = ch.seq
	if len(l.replay) > start {
		sub.seq = l.replay[start].seq - 1
	}
	sub.gap = hasSince && !r.Recovered
	return r
}

// recoverFrom applies the recovery rule to a client's (epoch, since) on ch,
// locked: it returns the seq to replay after and whether everything the
// client missed is still in history. A since from another epoch (a
// restarted node, a recreated channel) or from the future names nothing
// here: what is kept of this epoch is replayed and recovery fails. An empty
// epoch trusts since. The caller has set l.epoch to ch's epoch.
func (l *loop) recoverFrom(ch *channel, epoch []byte, since uint64) (from uint64, recovered bool) {
	ch.hist.expire(nowMillis() - l.srv.cfg.HistoryTTL.Milliseconds())
	from = since
	sameEpoch := len(epoch) == 0 || string(epoch) == string(l.epoch)
	if !sameEpoch || since > ch.seq {
		from = 0
	}
	oldest := ch.hist.oldestSeq()
	recovered = sameEpoch && since <= ch.seq &&
		(from == ch.seq || (oldest != 0 && oldest <= from+1))
	return from, recovered
}
