package server

import (
	"time"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
)

const (
	jsonType = "application/json"
	textType = "text/plain; charset=utf-8"
)

// httpState is what an HTTP transport session keeps about its current
// request, for answers given after the request's bytes are gone (an
// engine call completed, a parked poll woke). Allocated only for HTTP
// transport sessions, so WebSockets stay small.
type httpState struct {
	origin    string // echoed in Access-Control-Allow-Origin, when allowed
	callback  string // iframe: the parent's function to call
	target    string // iframe: the origin to postMessage to ("": call the callback)
	sid       string // the page\'s session id (sid=), shared by its stream and its POST /send
	wait      time.Duration
	keepAlive bool // keep the connection after the answer
	http10    bool // an HTTP/1.0 request: a kept connection is announced
	head      bool // a HEAD request: headers only
	ready     bool // poll: a message arrived; answer after this drain
}

// beginHTTP records the current request's answer settings in s.http.
func (s *session) beginHTTP(req *codec.Request, origin string) *httpState {
	st := s.http
	if st == nil {
		st = new(httpState)
		s.http = st
	}
	if st.origin != origin {
		st.origin = origin
	}
	st.keepAlive = req.KeepAlive
	st.http10 = req.Minor == 0
	if sid, ok, _ := req.QueryValue(s.loop.scratch[:0], "sid"); !ok || !validSID(sid) {
		st.sid = ""
	} else if st.sid != string(sid) {
		st.sid = string(sid)
	}
	st.head = string(req.Method) == "HEAD"
	st.ready = false
	return st
}

// park suspends the current request until an engine call completes (or a
// poll wakes): conn.Feed takes no further request meanwhile.
func (s *session) park(k kind) {
	s.setKind(k)
	s.Park()
}

// respondJSON answers the current HTTP request, given or parked, with a
// JSON body (and CORS headers when cors is set), then resumes the
// connection: the next pipelined request, keep-alive, or the close.
func (s *session) respondJSON(status int, body []byte, cors bool) {
	st := s.http
	env := &s.loop.env
	var extra []byte
	if cors && st != nil {
		extra = s.corsHeaders(st.origin)
	}
	keepAlive := st != nil && st.keepAlive
	if keepAlive && st.http10 {
		extra = append([]byte(conn.KeepAlive10), extra...) // rare: HTTP/1.0 keep-alive
	}
	if st != nil && st.head {
		env.Out = codec.AppendResponseHead(env.Out, status, jsonType, extra, len(body), keepAlive)
	} else {
		env.Out = codec.AppendResponse(env.Out, status, jsonType, extra, body, keepAlive)
	}
	s.finishRequest(keepAlive)
}

// finishRequest ends the current request after its answer is in env.Out:
// a parked connection resumes reading (or closes when not keep-alive).
func (s *session) finishRequest(keepAlive bool) {
	if s.State() != conn.StateParked {
		return // answered during its own Feed: conn handles keep-alive
	}
	s.setKind(kindHTTP)
	s.Unpark(keepAlive)
	s.loop.flush(s)
	if s.State() == conn.StateClosed {
		s.settle()
		return
	}
	s.arm(phaseRequest, s.loop.srv.conf().HandshakeTimeout)
	if s.loop.feeding != s && s.gc.InboundBuffered() > 0 {
		_ = s.gc.Wake(nil) // a pipelined request waited behind this one
	}
}

// respondText answers with status and its reason phrase as the body,
// keeping the connection.
func (s *session) respondText(env *conn.Env, status int, extra []byte) {
	s.Respond(env, status, textType, extra, []byte(codec.StatusText(status)+"\n"))
}

// validSID reports whether sid can name a page's session: 1 to 32 bytes
// of [A-Za-z0-9_-]. Presence and echo scope it by user.
func validSID(sid []byte) bool {
	if len(sid) == 0 || len(sid) > 32 {
		return false
	}
	for _, c := range sid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
