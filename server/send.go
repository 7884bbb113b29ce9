package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// sendRequest serves POST /send: one client message of the WebSocket
// protocol, the up-channel of the HTTP transports. Only pub and ping are
// meaningful; the answer is the reply the WebSocket would carry, with
// status 200 (the status says the request was processed, the body how).
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
	case m.Op != protocol.OpPub:
		s.respondJSON(200, protocol.AppendError(s.scratch(), m.ID, protocol.ErrHTTPOpNotAllowed), true)
	default:
		s.park(kindHTTP)
		s.sendPublish(env, req, &m)
	}
}
