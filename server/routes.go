package server

import (
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
)

// OnRequest routes one HTTP request (conn.Handler).
func (s *session) OnRequest(env *conn.Env, req *codec.Request, body []byte) {
	srv := s.loop.srv
	s.gen++ // completions of an earlier request are stale now
	// The next request, if any, gets a fresh deadline.
	s.arm(phaseRequest, srv.conf().HandshakeTimeout)
	s.loop.stats.requests.add(1)
	switch string(req.Path) {
	case "/ws":
		s.upgrade(env, req, kindNative)
	case "/echo":
		if !srv.conf().Echo {
			s.respondText(env, 404, nil)
			break
		}
		s.upgrade(env, req, kindEcho)
	case "/healthz":
		if !methodIs(req, "GET", "HEAD") {
			s.respondText(env, 405, []byte("Allow: GET, HEAD\r\n"))
			break
		}
		origin, _ := s.corsOrigin(req) // a disallowed origin just gets no CORS header
		if srv.draining.Load() {
			s.Respond(env, 503, textType, s.corsHeaders(origin), []byte("draining\n"))
			break
		}
		if srv.notReady.Load() {
			s.Respond(env, 503, textType, s.corsHeaders(origin), []byte("engine unavailable\n"))
			break
		}
		s.Respond(env, 200, textType, s.corsHeaders(origin), []byte("ok\n"))
	case "/poll", "/sse", "/stream", "/iframe", "/send":
		s.routeTransport(env, req, body)
	case "/api/publish", "/api/dm":
		if !methodIs(req, "POST") {
			s.respondText(env, 405, []byte("Allow: POST\r\n"))
			break
		}
		if string(req.Path) == "/api/dm" {
			s.apiDM(env, req, body)
		} else {
			s.apiPublish(env, req, body)
		}
	case "/api/inbox", "/api/inbox/entries", "/api/inbox/device":
		s.apiInbox(env, req)
	case "/api/presence":
		if !methodIs(req, "GET") {
			s.respondText(env, 405, []byte("Allow: GET\r\n"))
			break
		}
		s.apiPresence(env, req)
	case "/demo/token":
		if srv.conf().Auth.Demo == nil {
			s.respondText(env, 404, nil)
			break
		}
		s.demoToken(env, req)
	default:
		if !s.serveStatic(env, req) {
			s.respondText(env, 404, nil)
		}
	}
	s.throttle()
}

func methodIs(req *codec.Request, methods ...string) bool {
	for _, m := range methods {
		if string(req.Method) == m {
			return true
		}
	}
	return false
}

// upgrade performs the WebSocket opening handshake (RFC 6455 §4.2.2).
func (s *session) upgrade(env *conn.Env, req *codec.Request, k kind) {
	srv := s.loop.srv
	if srv.draining.Load() || (k == kindNative && srv.conf().NoWebSocket) {
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
	var r *request
	if k == kindNative {
		// Channels to join at connect, with positions, as HTTP transports
		// name them (?cursor=, ?ch=); the personal channel is added.
		l := s.loop
		positions, err := parsePositions(l.positions[:0], req, nil, srv.conf().MaxSubscriptions)
		l.positions = positions
		if err != nil {
			s.Reject(env, 400, nil)
			return
		}
		r = s.newRequest(opJoin)
		r.connect, r.limit = true, s.replayLimitFor(kindNative)
		for _, p := range positions {
			s.planJoin(r, string(p.Channel), broker.Position{Epoch: string(p.Epoch), Seq: p.Seq}, p.HasSince)
		}
		r.planned = true
		if err := s.requestSubTokens(req, r); err != nil {
			s.loop.release(r)
			r = nil
			defer s.refuse(err) // after the upgrade: a close code the browser can read
		}
	}
	s.setKind(k)
	if p, ok := srv.negotiateDeflate(req); ok {
		s.UpgradeDeflate(env, key, p)
	} else {
		s.Upgrade(env, key)
	}
	s.loop.stats.upgrades.add(1)
	if r != nil {
		s.admit(req, "ws", r)
	}
}

// originAllowed applies Config.AllowedOrigins. Requests without an Origin
// header come from non-browser clients, which the check cannot constrain.
func (srv *Server) originAllowed(origin []byte) bool {
	if len(srv.conf().AllowedOrigins) == 0 || origin == nil {
		return true
	}
	for _, o := range srv.conf().AllowedOrigins {
		if o == "*" || o == string(origin) {
			return true
		}
	}
	return false
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
