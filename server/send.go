package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// sendRequest serves POST /send: one client message of the WebSocket
// protocol, the up-channel of the HTTP transports: every op but sub, unsub
// and refresh (an HTTP transport names its channels and token in each
// request). The answer is the reply the WebSocket would carry, with status
// 200 (the status says the request was processed, the body how).
func (s *session) sendRequest(env *conn.Env, req *codec.Request, body []byte) {
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	s.beginHTTP(req, origin)
	var m protocol.ClientMessage
	switch err := s.loop.srv.conf().msgLimits.ParseClientMessage(body, &m); {
	case err != nil:
		s.respondJSON(200, protocol.AppendError(s.scratch(), m.ID, protocol.ErrorOf(err)), true)
	case m.Op == protocol.OpPing:
		s.respondJSON(200, protocol.AppendPong(s.scratch(), m.ID), true)
	case m.Op == protocol.OpPub:
		s.park(kindHTTP)
		s.sendPublish(env, req, &m)
	case m.Op == protocol.OpDM:
		s.park(kindHTTP)
		s.sendDM(req, &m)
	case m.Op == protocol.OpAck, m.Op == protocol.OpRead, m.Op == protocol.OpUnread:
		s.park(kindHTTP)
		s.admit(req, "send", s.inboxRequest(&m, fromSend))
	case m.Op == protocol.OpTyping:
		s.park(kindHTTP)
		s.sendTyping(env, req, &m)
	case m.Op == protocol.OpPresence:
		s.park(kindHTTP)
		r := s.newRequest(opPresence)
		r.channel, r.id, r.from = m.Channel, m.ID, fromSend
		s.admit(req, "send", r)
	default:
		s.respondJSON(200, protocol.AppendError(s.scratch(), m.ID, protocol.ErrHTTPOpNotAllowed), true)
	}
}
