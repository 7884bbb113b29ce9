package server

import (
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The streaming transports (docs/PROTOCOL.md): GET /sse, /stream and
// /iframe join their channels through the one join path, then answer with
// the response head, an open event carrying the cursor, the replay, and
// live messages as they come, until the client goes or the node ends the
// stream.

// openStream serves /sse, /stream and /iframe.
func (s *session) openStream(env *conn.Env, req *codec.Request, k kind) {
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	var lastEventID []byte
	if k == kindSSE {
		lastEventID = req.Header("Last-Event-ID")
	}
	positions, err := s.requestPositions(req, lastEventID)
	var cb, target string
	if err == nil && k == kindIframe {
		cb, target, err = s.iframeParams(req)
	}
	if err != nil {
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", requestError(err)))
		return
	}
	st := s.beginHTTP(req, origin)
	st.callback, st.target = cb, target
	r := s.newRequest(opJoin)
	r.limit = s.loop.srv.conf().PollBatch
	r.planned = true
	l := s.loop
	for _, p := range positions {
		s.planJoin(r, l.name(p.Channel), broker.Position{Epoch: l.name(p.Epoch), Seq: p.Seq}, p.HasSince)
	}
	s.setKind(k) // so that a refusal is answered as a stream
	if err := s.requestSubTokens(req, r); err != nil {
		s.loop.release(r)
		s.refuse(err)
		return
	}
	s.park(k)
	s.admit(req, transports[k].name, r)
}

// onStreamJoined answers a stream whose channels are joined: the head,
// the open event, the replays, then live delivery.
func (s *session) onStreamJoined(r *request) {
	l := s.loop
	env := &l.env
	if len(r.chans) == 0 {
		s.refuseWith(protocol.ErrNoChannels)
		return
	}
	for i := range r.chans {
		c := &r.chans[i]
		j, held, err := s.applyJoin(c)
		if err != nil {
			s.dropSubscriptions()
			e := engineError(err)
			s.respondJSON(e.Code, protocol.AppendError(s.scratch(), "", e), true)
			return
		}
		c.held = held
		_ = j
	}
	// Counted before the open leaves: a client that saw its open and then
	// reads the metrics finds its stream counted.
	l.srv.stats.streams.Add(1)
	env.Out = s.appendStreamHead(env.Out)
	env.Out = s.appendOpen(env.Out)
	l.flush(s)
	for i := range r.chans {
		c := &r.chans[i]
		j := s.subIndex(c.name)
		if j < 0 || s.isGone() || s.State() == conn.StateClosed {
			continue
		}
		l.collectReplay(c, c.held)
		s.writeReplay(j, c.st.Top)
	}
	if s.isGone() || s.State() == conn.StateClosed {
		return
	}
	s.arm(phasePing, l.srv.conf().StreamHeartbeat)
}

// appendStreamHead appends the response head of s's stream.
func (s *session) appendStreamHead(out []byte) []byte {
	out = codec.AppendStatusLine(out, 200)
	switch s.kind {
	case kindSSE:
		out = codec.AppendHeader(out, "Content-Type", "text/event-stream; charset=utf-8")
		out = codec.AppendHeader(out, "Cache-Control", "no-cache")
	case kindStream:
		out = codec.AppendHeader(out, "Content-Type", "application/x-ndjson")
		out = codec.AppendHeader(out, "Cache-Control", "no-store")
		out = codec.AppendHeader(out, "Transfer-Encoding", "chunked")
	case kindIframe:
		out = codec.AppendHeader(out, "Content-Type", "text/html; charset=utf-8")
		out = codec.AppendHeader(out, "Cache-Control", "no-store")
		out = append(out, s.loop.srv.conf().frameHeaders...)
	}
	// SSE and iframe bodies end when the connection does (RFC 9112 §6.3).
	if s.kind != kindStream {
		out = codec.AppendHeader(out, "Connection", "close")
	}
	out = codec.AppendHeader(out, "X-Accel-Buffering", "no") // nginx must not buffer
	out = codec.AppendHeader(out, "X-Content-Type-Options", "nosniff")
	out = append(out, s.corsHeaders(s.http.origin)...)
	return append(out, '\r', '\n')
}

// appendOpen appends the first event of a stream: {"op":"open","cursor":…}.
func (s *session) appendOpen(dst []byte) []byte {
	l := s.loop
	ev := append(l.body[:0], `{"op":"open","cursor":"`...)
	ev = s.appendCursor(ev)
	ev = append(ev, '"')
	l.pollPos = l.pollPos[:0]
	for i := range s.subs {
		l.pollPos = append(l.pollPos, pollPos{name: s.subs[i].lc.name, gap: s.subs[i].gap(), missed: s.subs[i].missed()})
	}
	ev = appendGaps(ev, l.pollPos)
	ev = append(ev, '}')
	l.body = ev
	switch s.kind {
	case kindSSE:
		dst = append(dst, "retry: 2000\n\n"...)
	case kindIframe:
		dst = append(dst, iframeHead...)
	}
	return s.transport().event(s, dst, ev)
}
