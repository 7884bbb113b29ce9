package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"strconv"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The backend API (docs/PROTOCOL.md). Every error answer has the one
// error body of the protocol: {"op":"err","code":…,"reason":…}.

// publishRequest is the body of POST /api/publish.
type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

var errBadAPIBody = &protocol.Error{Code: 400, Reason: `body must be {"channel":string,"data":json}`}

// apiPublish serves POST /api/publish for backends.
func (s *session) apiPublish(env *conn.Env, req *codec.Request, body []byte) {
	s.beginHTTP(req, "")
	if !s.apiAuthorized(req) {
		s.apiError(protocol.ErrUnauthorized, []byte("WWW-Authenticate: Bearer\r\n"))
		return
	}
	var p publishRequest
	if err := json.Unmarshal(body, &p); err != nil || len(p.Data) == 0 {
		s.apiError(errBadAPIBody, nil)
		return
	}
	if !protocol.ValidChannel(p.Channel) {
		s.apiError(protocol.ErrorOf(protocol.ErrBadChannel), nil)
		return
	}
	data, err := protocol.AppendCompactJSON(nil, p.Data, s.loop.srv.cfg.MaxJSONDepth)
	if err != nil {
		s.apiError(protocol.ErrorOf(err), nil)
		return
	}
	if len(data) > s.loop.srv.cfg.MaxMessageBytes {
		s.apiError(protocol.ErrPayloadTooBig, nil)
		return
	}
	r := s.newRequest(opPublish)
	r.channel, r.data, r.from = p.Channel, data, fromAPI
	s.park(kindHTTP)
	s.submit(r)
}

// apiPublished answers an API publish.
func (s *session) apiPublished(r *request) {
	if r.err != nil {
		s.apiError(engineError(r.err), nil)
		return
	}
	out := strconv.AppendUint(append(s.scratch(), `{"seq":`...), r.pos.Seq, 10)
	out = append(out, `,"epoch":"`...)
	out = append(out, r.pos.Epoch...)
	out = append(out, `"}`...)
	s.loop.replyBuf = out
	s.respondJSON(200, out, false)
}

// apiError answers an API request with e as status and body.
func (s *session) apiError(e *protocol.Error, extra []byte) {
	body := protocol.AppendError(s.scratch(), "", e)
	s.loop.replyBuf = body
	if len(extra) == 0 {
		s.respondJSON(e.Code, body, false)
		return
	}
	env := &s.loop.env
	env.Out = codec.AppendResponse(env.Out, e.Code, jsonType, extra, body, s.http.keepAlive)
	s.finishRequest(s.http.keepAlive)
}

// apiAuthorized checks "Authorization: Bearer KEY" (the scheme in any
// case, RFC 9110 §11.1) or "X-API-Key: KEY" in constant time. Without a
// configured key the API is closed, unless the operator started the node
// with InsecureAPI.
func (s *session) apiAuthorized(req *codec.Request) bool {
	cfg := &s.loop.srv.cfg
	if cfg.APIKey == "" {
		return cfg.InsecureAPI
	}
	got := req.Header("X-API-Key")
	if auth := req.Header("Authorization"); len(auth) > 7 && bytes.EqualFold(auth[:7], []byte("Bearer ")) {
		got = bytes.TrimLeft(auth[7:], " ")
	}
	return subtle.ConstantTimeCompare(got, []byte(cfg.APIKey)) == 1
}
