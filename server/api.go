package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The backend API (docs/PROTOCOL.md, "Backend API"). Every error answer
// has the one error body of the protocol: {"op":"err","code":…,"reason":…}.

// maxAPITargets bounds the channels one API call publishes to.
const maxAPITargets = 1000

var (
	errBadAPIBody = &protocol.Error{Code: 400, Reason: `body must be {"channel":string,"data":json} (or channels, user, users)`}
	errBadDMBody  = &protocol.Error{Code: 400, Reason: `body must be {"from":user,"to":user,"data":json}`}
	errBadUser    = &protocol.Error{Code: 400, Reason: "bad user id"}
	errNoIdentity = &protocol.Error{Code: 400, Reason: "the node has no identity configured: no personal channels"}
)

// apiPublish serves POST /api/publish for backends: to one channel, to
// many (each keeps its own order), to users' personal channels, on behalf
// of a user.
func (s *session) apiPublish(env *conn.Env, req *codec.Request, body []byte) {
	s.beginHTTP(req, "")
	if !s.apiAuthorized(req) {
		s.apiError(protocol.ErrUnauthorized, []byte("WWW-Authenticate: Bearer\r\n"))
		return
	}
	var p protocol.APIPublish
	if err := s.apiLimits().ParseAPIPublish(body, &p); err != nil {
		s.apiError(apiBodyError(err, errBadAPIBody), nil)
		return
	}
	targets := append(s.loop.targets[:0], p.Channels...)
	if p.Channel != "" {
		targets = append(targets, p.Channel)
	}
	for _, u := range append(p.Users, p.User) {
		if u == "" {
			continue
		}
		ch, e := s.personalOf(u)
		if e != nil {
			s.apiError(e, nil)
			return
		}
		targets = append(targets, ch)
	}
	s.loop.targets = targets
	var from *broker.ClientInfo
	if p.HasFrom {
		if !auth.ValidUserID(p.FromUser) || (p.FromClient != "" && !auth.ValidUserID(p.FromClient)) {
			s.apiError(errBadUser, nil)
			return
		}
		from = &broker.ClientInfo{User: p.FromUser, Client: p.FromClient}
	}
	if p.Conversation != "" && !protocol.ValidChannel(p.Conversation) {
		s.apiError(protocol.ErrBadConv, nil)
		return
	}
	s.apiSubmit(targets, p.Data, from, p.IdempotencyKey, p.Conversation, false, errBadAPIBody)
}

// apiDM serves POST /api/dm: one message to both participants' personal
// channels, in one call and in one order (DMs between the same two users
// are published one at a time, so both see them in the same order).
func (s *session) apiDM(env *conn.Env, req *codec.Request, body []byte) {
	s.beginHTTP(req, "")
	if !s.apiAuthorized(req) {
		s.apiError(protocol.ErrUnauthorized, []byte("WWW-Authenticate: Bearer\r\n"))
		return
	}
	var d protocol.APIDM
	if err := s.apiLimits().ParseAPIDM(body, &d); err != nil || d.From == "" || d.To == "" {
		s.apiError(apiBodyError(err, errBadDMBody), nil)
		return
	}
	from, e1 := s.personalOf(d.From)
	to, e2 := s.personalOf(d.To)
	if e := cmpErr(e1, e2); e != nil {
		s.apiError(e, nil)
		return
	}
	conv, ok := dmConversation(d.From, d.To)
	if !ok {
		s.apiError(errDMTooLong, nil)
		return
	}
	targets := append(s.loop.targets[:0], from, to)
	if d.From == d.To {
		targets = targets[:1]
	}
	s.loop.targets = targets
	s.apiSubmit(targets, d.Data, &broker.ClientInfo{User: d.From}, d.IdempotencyKey, conv, true, errBadDMBody)
}

func cmpErr(a, b *protocol.Error) *protocol.Error {
	if a != nil {
		return a
	}
	return b
}

// personalOf returns user's personal channel.
func (s *session) personalOf(user string) (string, *protocol.Error) {
	p := s.loop.srv.conf().Auth.Policy
	if p == nil {
		return "", errNoIdentity
	}
	ch, err := p.PersonalChannel(user)
	if err != nil {
		return "", errBadUser
	}
	return ch, nil
}

// apiLimits bound the API bodies' decoding: data and ignored fields as
// deep as a client message's, lists no longer than a call may target.
func (s *session) apiLimits() protocol.APILimits {
	return protocol.APILimits{MaxDepth: s.loop.srv.conf().MaxJSONDepth, MaxList: maxAPITargets}
}

// apiBodyError is the answer to a body the decoder refused: the data's
// own error where the data was at fault, else the call's usage line.
func apiBodyError(err error, usage *protocol.Error) *protocol.Error {
	switch err {
	case nil, protocol.ErrBadMessage, protocol.ErrMissingData:
		return usage
	}
	return protocol.ErrorOf(err)
}

// apiSubmit validates an API publish (data already compact and checked)
// and submits it.
func (s *session) apiSubmit(targets []string, data []byte, from *broker.ClientInfo, key, conv string, dm bool, bad *protocol.Error) {
	cfg := &s.loop.srv.conf().Config
	if len(targets) == 0 || len(targets) > maxAPITargets {
		s.apiError(bad, nil)
		return
	}
	for _, ch := range targets {
		if !protocol.ValidChannel(ch) {
			s.apiError(protocol.ErrorOf(protocol.ErrBadChannel), nil)
			return
		}
	}
	if len(key) > protocol.MaxIdemBytes {
		s.apiError(protocol.ErrorOf(protocol.ErrBadIdem), nil)
		return
	}
	if len(data) > cfg.MaxMessageBytes {
		s.apiError(protocol.ErrPayloadTooBig, nil)
		return
	}
	r := s.newRequest(opPublish)
	r.data, r.from, r.dm = data, fromAPI, dm
	r.opts.Publisher, r.opts.IdempotencyKey, r.opts.Conversation = from, apiIdemKey(key), conv
	r.targets = append(r.targets[:0], targets...) // owned: they outlive the request's bytes
	r.channel = r.targets[0]
	s.park(kindHTTP)
	s.submit(r)
}

// runPublishMany publishes r.data to every target: in one atomic step
// where the engine can (broker.Fanout: the inbox), else one after the
// other, in order, a DM holding its pair's lock across both publishes so
// that both sides see the pair's DMs in one order.
func (r *request) runPublishMany(ctx context.Context, srv *Server) {
	r.results = r.results[:0]
	if f, ok := srv.conf().Broker.(broker.Fanout); ok {
		pos, err := f.PublishMany(ctx, r.targets, r.data, r.opts)
		if err == nil && len(pos) != len(r.targets) {
			err = fmt.Errorf("server: the engine answered %d positions for %d channels: %w", len(pos), len(r.targets), broker.ErrUnavailable)
		}
		if !errors.Is(err, broker.ErrNotAtomic) {
			for i := range r.targets {
				res := publishResult{err: err}
				if err == nil {
					res.pos = pos[i]
				}
				r.results = append(r.results, res)
			}
			return
		}
	}
	if r.dm {
		mu := srv.dmLock(r.targets)
		mu.Lock()
		defer mu.Unlock()
	}
	for _, ch := range r.targets {
		pos, err := srv.conf().Broker.Publish(ctx, ch, r.data, r.opts)
		r.results = append(r.results, publishResult{pos: pos, err: err})
	}
}

// publishResult is the outcome of one target of a publish.
type publishResult struct {
	pos broker.Position
	err error
}

// dmLocks order the DMs of each pair of users on this node.
type dmLocks struct {
	seed  maphash.Seed
	locks [64]sync.Mutex
}

// dmLock returns the lock of a pair of personal channels.
func (srv *Server) dmLock(pair []string) *sync.Mutex {
	a, b := pair[0], pair[len(pair)-1]
	if a > b {
		a, b = b, a
	}
	h := maphash.String(srv.dms.seed, a+"\x00"+b)
	return &srv.dms.locks[h%uint64(len(srv.dms.locks))]
}

// apiPublished answers an API publish.
func (s *session) apiPublished(r *request) {
	if len(r.targets) <= 1 && len(r.results) <= 1 {
		err := r.err
		pos := r.pos
		if len(r.results) == 1 {
			err, pos = r.results[0].err, r.results[0].pos
		}
		if err != nil {
			s.apiError(engineError(err), nil)
			return
		}
		out := appendPosJSON(append(s.scratch(), '{'), pos)
		out = append(out, '}')
		s.loop.replyBuf = out
		s.respondJSON(200, out, false)
		return
	}
	out := append(s.scratch(), `{"results":[`...)
	failed := 0
	for i, res := range r.results {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"channel":"`...)
		out = append(out, r.targets[i]...)
		out = append(out, `",`...)
		if res.err != nil {
			failed++
			e := engineError(res.err)
			out = append(out, `"code":`...)
			out = appendInt(out, e.Code)
			out = append(out, `,"reason":`...)
			out = protocol.AppendJSONString(out, e.Reason)
		} else {
			out = appendPosJSON(out, res.pos)
		}
		out = append(out, '}')
	}
	out = append(out, "]}"...)
	s.loop.replyBuf = out
	status := 200
	if failed == len(r.results) {
		status = engineError(r.results[0].err).Code
	}
	s.respondJSON(status, out, false)
}

// appendPosJSON appends "seq":N,"epoch":"E".
func appendPosJSON(dst []byte, pos broker.Position) []byte {
	dst = append(dst, `"seq":`...)
	dst = appendInt(dst, int(pos.Seq))
	dst = append(dst, `,"epoch":"`...)
	dst = append(dst, pos.Epoch...)
	return append(dst, '"')
}

// apiPresence serves GET /api/presence?channel=X or ?user=U.
func (s *session) apiPresence(env *conn.Env, req *codec.Request) {
	s.beginHTTP(req, "")
	if !s.apiAuthorized(req) {
		s.apiError(protocol.ErrUnauthorized, []byte("WWW-Authenticate: Bearer\r\n"))
		return
	}
	l := s.loop
	ch, hasCh, _ := req.QueryValue(l.scratch[:0], "channel")
	channel := string(ch)
	if !hasCh {
		user, hasUser, _ := req.QueryValue(l.scratch[:0], "user")
		if !hasUser {
			s.apiError(&protocol.Error{Code: 400, Reason: "name a channel= or a user="}, nil)
			return
		}
		var e *protocol.Error
		if channel, e = s.personalOf(string(user)); e != nil {
			s.apiError(e, nil)
			return
		}
	}
	if !protocol.ValidChannel(channel) {
		s.apiError(protocol.ErrorOf(protocol.ErrBadChannel), nil)
		return
	}
	if !l.srv.tracked(channel) {
		s.apiError(errNoPresence, nil)
		return
	}
	r := s.newRequest(opPresence)
	r.channel, r.from = channel, fromAPI
	s.park(kindHTTP)
	s.submit(r)
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
	cfg := &s.loop.srv.conf().Config
	if cfg.APIKey == "" {
		return cfg.InsecureAPI
	}
	got := req.Header("X-API-Key")
	if auth := req.Header("Authorization"); len(auth) > 7 && bytes.EqualFold(auth[:7], []byte("Bearer ")) {
		got = bytes.TrimLeft(auth[7:], " ")
	}
	return subtle.ConstantTimeCompare(got, []byte(cfg.APIKey)) == 1
}
