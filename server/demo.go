package server

import (
	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// demoToken serves GET /demo/token?user=NAME[&client=ID]: a connection
// token for any name, signed by the node's demo key. It exists only when
// the node runs in demo mode (make run): anyone can become anyone.
func (s *session) demoToken(env *conn.Env, req *codec.Request) {
	l := s.loop
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	user, _, _ := req.QueryValue(l.scratch[:0], "user")
	u := string(user)
	client, _, _ := req.QueryValue(l.scratch[:0], "client")
	c := string(client)
	if !auth.ValidUserID(u) || (c != "" && !auth.ValidUserID(c)) {
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", errBadUser))
		return
	}
	tok, exp, err := l.srv.conf().Auth.Demo.Issue(u, c)
	if err != nil {
		s.Respond(env, 500, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", protocol.ErrInternal))
		return
	}
	b := append(l.body[:0], `{"token":`...)
	b = protocol.AppendJSONString(b, tok)
	b = append(b, `,"user":`...)
	b = protocol.AppendJSONString(b, u)
	b = append(b, `,"exp":`...)
	b = appendInt(b, int(exp.Unix()))
	b = append(b, `,"demo":true}`...)
	l.body = b
	s.Respond(env, 200, jsonType, s.corsHeaders(origin), b)
}
