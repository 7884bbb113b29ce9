package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"strconv"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

const (
	jsonType = "application/json"
	textType = "text/plain; charset=utf-8"
)

// OnRequest routes one HTTP request (conn.Handler).
func (s *session) OnRequest(env *conn.Env, req *codec.Request, body []byte) {
	srv := s.loop.srv
	// The next request, if any, gets a fresh deadline.
	s.arm(phaseRequest, srv.cfg.HandshakeTimeout)
	srv.stats.requests.Add(1)
	switch string(req.Path) {
	case "/ws":
		s.upgrade(env, req, kindNative)
	case "/echo":
		if !srv.cfg.Echo {
			s.respondText(env, 404, nil)
			return
		}
		s.upgrade(env, req, kindEcho)
	case "/healthz":
		if !methodIs(req, "GET", "HEAD") {
			s.respondText(env, 405, []byte("Allow: GET, HEAD\r\n"))
			return
		}
		origin, _ := s.corsOrigin(req) // a disallowed origin just gets no CORS header
		if srv.draining.Load() {
			s.Respond(env, 503, textType, s.corsHeaders(origin), []byte("draining\n"))
			return
		}
		s.Respond(env, 200, textType, s.corsHeaders(origin), []byte("ok\n"))
	case "/poll", "/sse", "/stream", "/iframe", "/send":
		s.routeTransport(env, req, body)
	case "/api/publish":
		if !methodIs(req, "POST") {
			s.respondText(env, 405, []byte("Allow: POST\r\n"))
			return
		}
		s.apiPublish(env, req, body)
	default:
		if !s.serveStatic(env, req) {
			s.respondText(env, 404, nil)
		}
	}
}

func methodIs(req *codec.Request, methods ...string) bool {
	for _, m := range methods {
		if string(req.Method) == m {
			return true
		}
	}
	return false
}

// respondText answers with status and its reason phrase as the body,
// keeping the connection.
func (s *session) respondText(env *conn.Env, status int, extra []byte) {
	s.Respond(env, status, textType, extra, []byte(codec.StatusText(status)+"\n"))
}

// upgrade performs the WebSocket opening handshake (RFC 6455 §4.2.2).
func (s *session) upgrade(env *conn.Env, req *codec.Request, kind sessionKind) {
	srv := s.loop.srv
	if srv.draining.Load() || (kind == kindNative && srv.cfg.NoWebSocket) {
		s.Reject(env, 503, nil)
		return
	}
	key, err := codec.CheckUpgrade(req)
	if err != nil {
		status := conn.HTTPStatusOf(err)
		var extra []byte
		if status == 426 {
			// RFC 6455 §4.4 and RFC 9110 §15.5.22: say what to upgrade to.
			extra = []byte("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n")
		}
		s.Reject(env, status, extra)
		return
	}
	if !srv.originAllowed(req.Header("Origin")) {
		s.Reject(env, 403, nil)
		return
	}
	s.kind = kind
	s.Upgrade(env, key)
	srv.stats.upgrades.Add(1)
	srv.stats.websockets.Add(1)
}

// originAllowed applies Config.AllowedOrigins. Requests without an Origin
// header come from non-browser clients, which the check cannot constrain.
func (srv *Server) originAllowed(origin []byte) bool {
	if len(srv.cfg.AllowedOrigins) == 0 || origin == nil {
		return true
	}
	for _, o := range srv.cfg.AllowedOrigins {
		if o == "*" || o == string(origin) {
			return true
		}
	}
	return false
}

// publishRequest is the body of POST /api/publish.
type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// apiPublish serves POST /api/publish for backends.
func (s *session) apiPublish(env *conn.Env, req *codec.Request, body []byte) {
	srv := s.loop.srv
	if !s.apiAuthorized(req) {
		s.Respond(env, 401, jsonType, []byte("WWW-Authenticate: Bearer\r\n"),
			[]byte(`{"error":"missing or wrong api key"}`))
		return
	}
	var p publishRequest
	if err := json.Unmarshal(body, &p); err != nil || len(p.Data) == 0 {
		s.Respond(env, 400, jsonType, nil, []byte(`{"error":"body must be {\"channel\":string,\"data\":json}"}`))
		return
	}
	data, err := protocol.CompactJSON(p.Data)
	if err != nil {
		s.Respond(env, 400, jsonType, nil, []byte(`{"error":"data is not valid JSON"}`))
		return
	}
	seq, err := srv.Publish(p.Channel, data)
	if err != nil {
		status := publishErrorCode(err)
		s.Respond(env, status, jsonType, nil, protocol.AppendErr(nil, "", status, errorText(err)))
		return
	}
	out := strconv.AppendUint([]byte(`{"seq":`), seq, 10)
	s.Respond(env, 200, jsonType, nil, append(out, '}'))
}

// apiAuthorized checks "Authorization: Bearer KEY" (or "X-API-Key: KEY") in
// constant time. Without a configured key only loopback clients pass.
func (s *session) apiAuthorized(req *codec.Request) bool {
	key := s.loop.srv.cfg.APIKey
	if key == "" {
		addr, ok := s.gc.RemoteAddr().(*net.TCPAddr)
		return ok && addr.IP.IsLoopback()
	}
	got := req.Header("X-API-Key")
	if auth := req.Header("Authorization"); len(auth) > 7 && string(auth[:7]) == "Bearer " {
		got = auth[7:]
	}
	return subtle.ConstantTimeCompare(got, []byte(key)) == 1
}

// publishErrorCode maps a publish error to the code used both as the API's
// HTTP status and in "err" replies (docs/PROTOCOL.md).
func publishErrorCode(err error) int {
	switch {
	case errors.Is(err, protocol.ErrBadChannel):
		return errCodeBadRequest
	case errors.Is(err, ErrMessageTooBig):
		return errCodeMessageTooBig
	case errors.Is(err, ErrTooManyChannels):
		return errCodeChannelsFull
	}
	return errCodeInternalServer
}

// errorText strips the package prefix from an error for clients.
func errorText(err error) string {
	msg := err.Error()
	for _, p := range []string{"codec: ", "server: "} {
		if len(msg) > len(p) && msg[:len(p)] == p {
			return msg[len(p):]
		}
	}
	return msg
}

// routeTransport dispatches the HTTP transports, their CORS preflight and
// their method checks.
func (s *session) routeTransport(env *conn.Env, req *codec.Request, body []byte) {
	path := string(req.Path)
	switch {
	case string(req.Method) == "OPTIONS":
		s.preflight(env, req)
	case path == "/send":
		if !methodIs(req, "POST") {
			s.respondText(env, 405, []byte("Allow: POST, OPTIONS\r\n"))
			return
		}
		s.sendRequest(env, req, body)
	case !methodIs(req, "GET"):
		s.respondText(env, 405, []byte("Allow: GET, OPTIONS\r\n"))
	case path == "/poll":
		s.poll(env, req)
	case path == "/sse":
		s.openStream(env, req, kindSSE)
	case path == "/stream":
		s.openStream(env, req, kindStream)
	default:
		s.openStream(env, req, kindIframe)
	}
}
