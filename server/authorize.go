package server

import (
	"strconv"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// Authorization, in one place for every transport. A request that reads
// channels (a WebSocket connect or subscribe, a poll, a stream) is first
// planned (its channels and positions in a request), then admitted: the
// client is authenticated (on the loop from a token, or through the
// connect hook), its personal channel is added, and every channel is
// checked against the namespaces before the engine is asked anything, so
// neither the answer nor its timing tells a denied client about a channel.

// mayRead checks that s may subscribe to, poll or replay channel.
func (s *session) mayRead(channel string, tokens []auth.SubscriptionToken) *protocol.Error {
	p := s.loop.srv.conf().Auth.Policy
	if p == nil {
		return nil
	}
	d := p.CanSubscribe(s.identityOf(), channel, s.subTokenFor(channel, tokens))
	if d.Allowed {
		return nil
	}
	return &protocol.Error{Code: d.Reason.Code(), Reason: d.Reason.String()}
}

// mayPublish checks that s may publish to channel from a client.
func (s *session) mayPublish(channel string, tokens []auth.SubscriptionToken) *protocol.Error {
	p := s.loop.srv.conf().Auth.Policy
	if p == nil {
		return nil
	}
	d := p.CanPublish(s.identityOf(), channel, s.subTokenFor(channel, tokens))
	if d.Allowed {
		return nil
	}
	return &protocol.Error{Code: d.Reason.Code(), Reason: d.Reason.String()}
}

// subTokenFor returns the unexpired subscription token for channel, if
// the request brought one.
func (s *session) subTokenFor(channel string, tokens []auth.SubscriptionToken) *auth.SubscriptionToken {
	now := s.loop.srv.conf().Now()
	for i := range tokens {
		t := &tokens[i]
		if t.Channel == channel && (t.Expiry.IsZero() || now.Before(t.Expiry)) {
			return t
		}
	}
	return nil
}

// verifySubToken checks a subscription token for the session's user.
func (s *session) verifySubToken(tok string) (auth.SubscriptionToken, error) {
	v := s.loop.srv.conf().Auth.Verifier
	if v == nil {
		return auth.SubscriptionToken{}, &auth.Error{Kind: auth.ErrInvalid, Reason: "tokens are not accepted here"}
	}
	return v.VerifySubscription(tok, s.identityOf())
}

// requestSubTokens collects the subscription tokens of an HTTP transport
// request (subtoken=, repeatable) into r; verifySubTokens checks them once
// the client is known.
func (s *session) requestSubTokens(req *codec.Request, r *request) error {
	if s.loop.srv.open() {
		return nil
	}
	for _, p := range req.Query() {
		k, v := p.Key, p.Value
		if string(k) != "subtoken" {
			continue
		}
		if len(r.rawSubTokens) >= s.loop.srv.conf().MaxSubscriptions {
			return protocol.ErrTooManyPositions
		}
		raw, err := codec.AppendUnescape(nil, v)
		if err != nil {
			return err
		}
		r.rawSubTokens = append(r.rawSubTokens, string(raw))
	}
	return nil
}

// verifySubTokens verifies the subscription tokens r came with, once its
// client is known (a subscription token names its user).
func (s *session) verifySubTokens(r *request) error {
	for _, raw := range r.rawSubTokens {
		t, err := s.verifySubToken(raw)
		if err != nil {
			return err
		}
		r.subTokens = append(r.subTokens, t)
	}
	return nil
}

// admit authenticates the current request and goes on with r (an opRead
// or a planned opJoin), or answers the failure. hook is filled for the
// connect hook when it must be asked.
func (s *session) admit(req *codec.Request, transport string, r *request) {
	var hook auth.HookRequest
	r.device = deviceParam(req)
	res, err := s.authenticate(req, transport, &hook)
	switch res {
	case authFailed:
		s.loop.release(r)
		s.refuse(err)
	case authPending:
		r.ownNames() // the request's bytes are gone by the time the hook answers
		if s.State() == conn.StateWebSocket {
			s.flags |= flagAuthWait // frames wait until the client is known
		}
		s.submitAuth(hook, r)
	default:
		s.proceed(r)
	}
}

// onAuthed goes on with what waited for the connect hook.
func (s *session) onAuthed(a *request) {
	r := a.then
	a.then = nil
	if s.has(flagAuthWait) {
		s.flags &^= flagAuthWait
		defer s.resumeAuthInput()
	}
	if a.err != nil {
		if r != nil {
			s.loop.release(r)
		}
		s.refuse(a.err)
		return
	}
	s.setIdentity(a.ident, "")
	if r != nil {
		s.proceed(r)
	}
}

// proceed authorizes r's channels (adding the client's personal channel)
// and submits it; a denied channel fails the whole request.
func (s *session) proceed(r *request) {
	if err := s.verifySubTokens(r); err != nil {
		s.loop.release(r)
		s.refuse(err)
		return
	}
	if s.who != nil {
		s.who.device = r.device
	}
	r.device = ""
	switch r.op {
	case opInbox:
		s.inboxProceed(r)
		return
	case opPresence:
		s.presenceProceed(r)
		return
	}
	if r.op == opJoin || r.op == opRead {
		s.addPersonal(r)
		s.markDevice(r)
		for i := range r.chans {
			if e := s.mayRead(r.chans[i].name, r.subTokens); e != nil {
				s.loop.release(r)
				s.refuseWith(e)
				return
			}
		}
		if r.planned {
			s.subscribePlanned(r)
		}
		if r.op == opRead { // a long-poll is present while it polls
			for i := range r.chans {
				s.presenceJoined(r.chans[i].name)
			}
		}
	}
	if r.op == opPublish && r.from == fromSend && r.dm {
		if e := s.planDM(r); e != nil {
			id := r.id // release resets r
			s.loop.release(r)
			s.publishFailed(&s.loop.env, id, fromSend, e)
			return
		}
	} else if r.op == opPublish && r.from == fromSend {
		if e := s.mayPublish(r.channel, nil); e != nil {
			// Known but not allowed there: the reply says so (status 200,
			// like every reply of POST /send).
			id := r.id
			s.loop.release(r)
			s.publishFailed(&s.loop.env, id, fromSend, e)
			return
		}
		s.stampPublish(r)
	}
	if r.connect && s.who != nil {
		s.sayConnected()
	}
	if r.op == opJoin && len(r.chans) == 0 {
		s.loop.release(r)
		return
	}
	s.submit(r)
}

// publisher is the identity stamped on the session's publications; with
// echo unset it names the connection, so the fan-out does not send the
// message back to it.
func (s *session) publisher(echo bool) *broker.ClientInfo {
	if s.who == nil {
		return nil
	}
	info := &broker.ClientInfo{User: s.who.id.User, Client: s.who.id.Client}
	if !echo {
		info.Conn = s.who.conn
	}
	return info
}

// stampPublish names a client's publish: who sent it (the publisher) and
// its idempotency key, scoped to the user, so that no client can claim
// another user's key and have that user's message taken for a retry.
func (s *session) stampPublish(r *request) {
	r.opts.Publisher = s.publisher(r.echo)
	if r.idem != "" {
		user := ""
		if s.who != nil {
			user = s.who.id.User
		}
		r.opts.IdempotencyKey = clientIdemKey(user, r.idem)
	}
}

// clientIdemKey and apiIdemKey keep the keys of clients and of the
// backend apart: a client's key never matches the backend's.
func clientIdemKey(user, key string) string { return "c:" + user + ":" + key }
func apiIdemKey(key string) string {
	if key == "" {
		return ""
	}
	return "a:" + key
}

// deviceParam returns the request's device= (a device id: auth.ValidUserID),
// or "".
func deviceParam(req *codec.Request) string {
	var buf [auth.MaxUserIDBytes]byte
	d, ok, _ := req.QueryValue(buf[:0], "device")
	if !ok || !auth.ValidUserID(string(d)) {
		return ""
	}
	return string(d)
}

// resumeAuthInput feeds the frames that waited for the connect hook.
func (s *session) resumeAuthInput() {
	if !s.isGone() {
		_ = s.gc.Wake(nil)
	}
}

// addPersonal adds the client's personal channel to r, from now, unless r
// names it already (with the client's position).
func (s *session) addPersonal(r *request) {
	if s.who == nil || s.who.personal == "" {
		return
	}
	for i := range r.chans {
		if r.chans[i].name == s.who.personal {
			return
		}
	}
	if len(r.chans) >= s.loop.srv.conf().MaxSubscriptions+1 {
		return
	}
	c := r.addChan(s.who.personal)
	c.since, c.hasSince = broker.Position{}, false
}

// refuse answers an authentication failure the way the transport can
// carry it.
func (s *session) refuse(err error) {
	a := authAnswer(err)
	s.refuseCode(&protocol.Error{Code: a.Status, Reason: a.Reason}, a.Close)
}

// refuseWith answers a request that may not proceed: an err reply or a
// close on a WebSocket, a JSON error on a poll, a stream that carries one
// close event.
func (s *session) refuseWith(e *protocol.Error) { s.refuseCode(e, closeCodeFor(e)) }

// refuseCode is refuseWith with the close code given.
func (s *session) refuseCode(e *protocol.Error, code int) {
	switch {
	case s.State() == conn.StateWebSocket:
		s.end(authReason(code))
	case s.kind == kindSSE || s.kind == kindStream || s.kind == kindIframe:
		s.refuseStream(e, code)
	default:
		s.respondJSON(e.Code, protocol.AppendError(s.scratch(), "", e), true)
	}
}

// closeCodeFor is the close code of a refusal's status.
func closeCodeFor(e *protocol.Error) int {
	switch e.Code {
	case 401:
		return auth.CloseInvalid
	case 403:
		return auth.CloseForbidden
	case 503:
		return auth.CloseUnavailable
	}
	return 1008
}

// authReason maps an auth close code to the session's close reason.
func authReason(code int) conn.Reason {
	switch code {
	case auth.CloseExpired:
		return conn.ReasonTokenExpired
	case auth.CloseMissing:
		return conn.ReasonTokenMissing
	case auth.CloseInvalid:
		return conn.ReasonUnauthorized
	case auth.CloseForbidden:
		return conn.ReasonForbidden
	case auth.CloseUnavailable:
		return conn.ReasonAuthUnavailable
	}
	return conn.ReasonPolicy
}

// refuseStream answers a stream that may not open: 200 and one close
// event, then the end, because EventSource and iframes cannot read an
// error status, and the client must learn whether to refresh its token.
func (s *session) refuseStream(e *protocol.Error, code int) {
	l := s.loop
	env := &l.env
	env.Out = s.appendStreamHead(env.Out)
	l.body = appendCloseEvent(l.body[:0], code, e.Reason)
	if s.kind == kindIframe {
		env.Out = append(env.Out, iframeHead...)
	}
	env.Out = s.transport().event(s, env.Out, l.body)
	env.Out = append(env.Out, s.transport().trailer...)
	s.Abort(conn.ReasonPolicy)
	l.flush(s)
	s.closeSocket()
}

func appendInt(dst []byte, v int) []byte { return strconv.AppendInt(dst, int64(v), 10) }

// appendCloseEvent appends {"op":"close","code":…,"reason":…}: the final
// event of a stream the server ends.
func appendCloseEvent(dst []byte, code int, reason string) []byte {
	dst = append(dst, `{"op":"close","code":`...)
	dst = appendInt(dst, code)
	dst = append(dst, `,"reason":`...)
	dst = protocol.AppendJSONString(dst, reason)
	return append(dst, '}')
}

// sayConnected tells a WebSocket client who it is connected as.
func (s *session) sayConnected() {
	w := s.who
	b := append(s.scratch(), `{"op":"connected","conn":`...)
	b = protocol.AppendJSONString(b, w.conn)
	if w.id.User != "" {
		b = append(b, `,"user":`...)
		b = protocol.AppendJSONString(b, w.id.User)
	}
	if w.id.Client != "" {
		b = append(b, `,"client":`...)
		b = protocol.AppendJSONString(b, w.id.Client)
	}
	if w.personal != "" {
		b = append(b, `,"personal":`...)
		b = protocol.AppendJSONString(b, w.personal)
	}
	if !w.id.Expiry.IsZero() {
		b = append(b, `,"exp":`...)
		b = appendInt(b, int(w.id.Expiry.Unix()))
	}
	b = append(b, '}')
	s.reply(&s.loop.env, b)
}
