package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
)

// CORS for the browser transports (Fetch standard, "CORS protocol"): an
// allowed Origin is echoed, with Vary: Origin so caches keep answers apart.

// corsOrigin returns the request's Origin to echo and whether it may be
// served. Requests without Origin (same origin, non-browser) always may.
func (s *session) corsOrigin(req *codec.Request) (string, bool) {
	origin := req.Header("Origin")
	if origin == nil {
		return "", true
	}
	if !s.loop.srv.originAllowed(origin) {
		return "", false
	}
	return string(origin), true
}

// corsHeaders returns the header lines for an allowed origin ("" for none),
// built in the loop's scratch.
func (s *session) corsHeaders(origin string) []byte {
	if origin == "" {
		return nil
	}
	h := append(s.loop.hdr[:0], "Access-Control-Allow-Origin: "...)
	h = append(h, origin...)
	h = append(h, "\r\nVary: Origin\r\n"...)
	s.loop.hdr = h
	return h
}

// preflight answers an OPTIONS request for a transport path.
func (s *session) preflight(env *conn.Env, req *codec.Request) {
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	extra := append(s.corsHeaders(origin), "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"+
		"Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\nAccess-Control-Max-Age: 600\r\n"...)
	s.loop.hdr = extra
	s.Respond(env, 204, "", extra, nil)
}
