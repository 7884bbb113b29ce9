package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/notify"
	"github.com/comet-im/comet/protocol"
)

// AuthConfig says how the node knows who its clients are and what they
// may do (docs/AUTH.md). The zero value is an open node.
type AuthConfig struct {
	// Policy holds the namespaces: who may subscribe, publish and see
	// presence where. nil makes an open node: every client is anonymous
	// and may do everything (development, private networks).
	Policy *auth.Policy
	// Verifier checks connection tokens (JWT) and subscription tokens;
	// nil refuses every token.
	Verifier *auth.Verifier
	// Hook authenticates a client that brought no token, by the cookies
	// and headers it forwards to the backend; nil: none.
	Hook *auth.Hook
	// Tokens says where a request's token is looked for.
	Tokens auth.TokenTransport
	// Demo, when set, serves tokens for any name at GET /demo/token:
	// for local demos only.
	Demo *auth.DemoIssuer
	// Webhook is told when a user comes online or goes offline; nil: none.
	Webhook *notify.Webhook
}

// who is an authenticated client: its identity, and what the node derives
// from it. nil on an open node (anonymous, allowed everything).
type who struct {
	id       auth.Identity
	token    string // the connection token it came with, to reuse on keep-alive
	conn     string // the connection's id in presence and for echo (ClientInfo.Conn)
	sid      string // the page's sid conn was made from ("" for a WebSocket)
	personal string // its personal channel, "" when anonymous
	device   string // the request's device= (the token's client id wins: session.device)
	ackNext  uint64 // the inbox ack to store once the one in flight is done
}

// open reports whether the node authenticates nobody.
func (srv *Server) open() bool { return srv.conf().Auth.Policy == nil }

// identityOf returns the identity a session acts as (nil: anonymous).
func (s *session) identityOf() *auth.Identity {
	if s.who == nil {
		return nil
	}
	return &s.who.id
}

// authResult is the outcome of authenticating a request without waiting.
type authResult uint8

const (
	authDone    authResult = iota // s.who is set (or nil on an open node)
	authFailed                    // err says why
	authPending                   // the connect hook must be asked: submit opAuth
)

// authenticate finds who the current request is: a token verified on the
// loop (CPU only), the connect hook's cached answer, or the anonymous
// identity. When the hook must be asked, it fills hook for opAuth and
// returns authPending. A keep-alive connection that presents the same
// token again is not verified again, only checked for expiry.
func (s *session) authenticate(req *codec.Request, transport string, hook *auth.HookRequest) (authResult, error) {
	srv := s.loop.srv
	a := &srv.conf().Config.Auth
	if a.Policy == nil {
		s.who = nil
		return authDone, nil
	}
	tok, src, err := a.Tokens.Extract(auth.TokenRequest{
		Authorization: string(req.Header("Authorization")),
		Query:         string(req.RawQuery),
		Cookie:        string(req.Header("Cookie")),
	})
	if err != nil && !errors.Is(err, auth.ErrMissing) {
		return authFailed, err // a malformed or oversized token
	}
	now := srv.conf().Now()
	if tok != "" {
		if src.Ambient() && !srv.originAllowed(req.Header("Origin")) {
			// A cookie comes along with any cross-site request: only pages
			// of allowed origins may use it (cross-site hijacking).
			return authFailed, &auth.Error{Kind: auth.ErrDenied, Reason: "origin not allowed"}
		}
		if s.who != nil && s.who.token == tok {
			if s.who.id.Expired(now) {
				return authFailed, &auth.Error{Kind: auth.ErrExpired, Reason: "token expired"}
			}
			s.refreshConnID()
			return authDone, nil
		}
		if a.Verifier == nil {
			return authFailed, &auth.Error{Kind: auth.ErrInvalid, Reason: "tokens are not accepted here"}
		}
		id, err := a.Verifier.Verify(tok)
		if err != nil {
			return authFailed, err
		}
		s.setIdentity(id, tok)
		return authDone, nil
	}
	if a.Hook != nil {
		*hook = s.hookRequest(req, transport)
		if id, ok := a.Hook.Cached(*hook); ok && !id.Expired(now) {
			s.setIdentity(id, "")
			return authDone, nil
		}
		return authPending, nil
	}
	id, err := a.Policy.Anonymous()
	if err != nil {
		return authFailed, err
	}
	s.setIdentity(id, "")
	return authDone, nil
}

// setIdentity makes id the session's identity.
func (s *session) setIdentity(id auth.Identity, token string) {
	w := s.who
	if w == nil || w.id.User != id.User || w.id.Client != id.Client {
		w = &who{}
		if !id.Anonymous() {
			w.personal, _ = s.loop.srv.conf().Auth.Policy.PersonalChannel(id.User)
		}
	}
	w.id, w.token = id, token
	s.who = w
	s.refreshConnID()
}

// refreshConnID sets the connection id of s: once for a WebSocket, per
// request for an HTTP transport (its page names it with sid, and one
// keep-alive connection may carry several pages' requests).
func (s *session) refreshConnID() {
	w := s.who
	if s.http == nil || s.http.sid == "" {
		if w.conn == "" || w.sid != "" {
			w.conn, w.sid = s.loop.srv.nodeID+"."+strconv.FormatUint(s.loop.srv.connSeq.Add(1), 36), ""
		}
		return
	}
	if w.sid != s.http.sid {
		// Scoped by user: another user naming the same sid is another
		// connection.
		w.conn, w.sid = "s."+w.id.User+"."+s.http.sid, s.http.sid
	}
}

// hookRequest is what the connect hook is told of the current request.
func (s *session) hookRequest(req *codec.Request, transport string) auth.HookRequest {
	h := make(http.Header, len(req.Headers))
	for _, f := range req.Headers {
		h.Add(string(f.Name), string(f.Value))
	}
	return auth.HookRequest{
		Conn:       s.hookConnID(),
		Transport:  transport,
		RemoteAddr: s.clientAddr(req).String(),
		Header:     h,
		Cookie:     string(req.Header("Cookie")),
	}
}

// authAnswer is what a client is told when its credentials fail.
func authAnswer(err error) auth.Answer { return auth.AnswerFor(err) }

// authError is the protocol error for an authentication or permission
// failure on an HTTP transport.
func authError(err error) *protocol.Error {
	a := authAnswer(err)
	return &protocol.Error{Code: a.Status, Reason: a.Reason}
}

// expired reports whether the session's credentials have run out.
func (s *session) expired(now time.Time) bool {
	return s.who != nil && s.who.id.Expired(now)
}

// hookConnID names the connection to the connect hook, before it is known.
func (s *session) hookConnID() string {
	if s.http != nil && s.http.sid != "" {
		return "s." + s.http.sid
	}
	return s.loop.srv.nodeID + "." + strconv.FormatUint(s.loop.srv.connSeq.Add(1), 36)
}
