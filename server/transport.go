package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The HTTP transports (docs/PROTOCOL.md): a parked long-poll and three
// streaming responses (SSE, chunked, iframe). They subscribe like a
// WebSocket, through loop.join, and are delivered to by the same fan-out;
// only the bytes differ (session.send).

var (
	errNoChannels  = errors.New("server: name at least one channel with ch=")
	errBadCallback = errors.New("server: cb must be a JavaScript identifier path")
	errBadWait     = errors.New("server: wait must be whole seconds")
)

// streamState is what an HTTP transport session keeps beyond a WebSocket's.
// Allocated only for those sessions, so WebSockets stay small.
type streamState struct {
	origin    string // echoed in Access-Control-Allow-Origin, when allowed
	callback  string // iframe: the parent's function to call
	keepAlive bool   // poll: keep the connection after the answer
	ready     bool   // poll: a message arrived; answer after this drain
}

// prepareTransport checks the origin and parses the channels (and, for an
// iframe, the callback) of an HTTP transport request into l.positions. It
// answers errors itself and returns false on failure. The session's
// transport state is reused from an earlier request on the connection.
func (s *session) prepareTransport(env *conn.Env, req *codec.Request, kind sessionKind) (*streamState, bool) {
	l, srv := s.loop, s.loop.srv
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return nil, false
	}
	var lastEventID []byte
	if kind == kindSSE {
		lastEventID = req.Header("Last-Event-ID")
	}
	positions, err := parsePositions(l.positions[:0], req.RawQuery, lastEventID, srv.cfg.MaxSubscriptions)
	l.positions = positions
	if err == nil && len(positions) == 0 {
		err = errNoChannels
	}
	st := s.stream
	if st == nil {
		st = new(streamState)
	}
	if st.origin != origin {
		st.origin = origin
	}
	st.keepAlive, st.ready = req.KeepAlive, false
	if err == nil && kind == kindIframe {
		cb, _, _ := codec.QueryValue(l.scratch[:0], req.RawQuery, "cb")
		if !validCallback(cb) {
			err = errBadCallback
		}
		st.callback = string(cb)
	}
	if err != nil {
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendErr(nil, "", 400, errorText(err)))
		return nil, false
	}
	return st, true
}

// openTransport prepares a streaming request and joins its channels,
// collecting their replays in l.replay.
func (s *session) openTransport(env *conn.Env, req *codec.Request, kind sessionKind) bool {
	st, ok := s.prepareTransport(env, req, kind)
	if !ok {
		return false
	}
	l := s.loop
	s.kind, s.stream = kind, st
	l.replay = l.replay[:0]
	for _, p := range l.positions {
		if _, err := l.join(s, p.channel, p.epoch, p.seq, p.hasSince); err != nil {
			s.dropSubscriptions()
			s.kind = kindHTTP
			s.Respond(env, 503, jsonType, s.corsHeaders(st.origin), protocol.AppendErr(nil, "", 503, errorText(err)))
			return false
		}
	}
	return true
}

// pollPos is a poll's position in one channel while it is answered.
type pollPos struct {
	ch  *channel
	seq uint64 // the last seq the client has
	gap bool   // history did not reach back to the requested position
}

// poll serves GET /poll: it answers at once when there is something to say
// (or wait=0), else subscribes and parks until a message or the hold time.
// A poll that answers at once never subscribes: the steady state of short
// and busy long polls allocates nothing.
func (s *session) poll(env *conn.Env, req *codec.Request) {
	wait, err := s.pollWait(req)
	if err != nil {
		origin, ok := s.corsOrigin(req)
		if !ok {
			s.Reject(env, 403, nil)
			return
		}
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendErr(nil, "", 400, errorText(errBadWait)))
		return
	}
	st, ok := s.prepareTransport(env, req, kindPoll)
	if !ok {
		return
	}
	l := s.loop
	s.stream = st
	l.pollPos = l.pollPos[:0]
	pending := false
	for _, p := range l.positions {
		pp, behind, err := l.resolve(p)
		if err != nil {
			s.Respond(env, 503, jsonType, s.corsHeaders(st.origin), protocol.AppendErr(nil, "", 503, errorText(err)))
			return
		}
		pending = pending || pp.gap || behind
		l.pollPos = append(l.pollPos, pp)
	}
	if pending || wait == 0 {
		s.answerPoll(env, l.pollPos)
		return
	}
	// Nothing yet: subscribe from the resolved positions. A message that
	// came in since resolve is in the replay, and answers at once.
	s.kind = kindPoll
	l.replay = l.replay[:0]
	for _, pp := range l.pollPos {
		pp.ch.mu.Lock()
		if pp.ch.dead {
			pending = true // swept meanwhile: answer with what we have
		} else {
			l.joinLocked(s, pp.ch, nil, pp.seq, true)
		}
		pp.ch.mu.Unlock()
	}
	if pending || len(l.replay) > 0 {
		clear(l.replay)
		s.answerSubscribedPoll(env)
		return
	}
	s.Park()
	s.arm(phaseHold, wait)
	l.srv.stats.pollsParked.Add(1)
}

// resolve turns a requested position into the poll's position on the
// live channel: the seq after which to answer, whether there is a gap, and
// whether the channel is already past it (read under the channel's lock).
func (l *loop) resolve(p position) (pollPos, bool, error) {
	ch, err := l.srv.channels.lockChannel(p.channel, l.srv.cfg.MaxChannels)
	if err != nil {
		return pollPos{}, false, err
	}
	pp := l.positionOn(ch, p)
	behind := ch.seq > pp.seq
	ch.mu.Unlock()
	return pp, behind, nil
}

// positionOn applies the recovery rule of a requested position to ch,
// locked by the caller.
func (l *loop) positionOn(ch *channel, p position) pollPos {
	pp := pollPos{ch: ch, seq: ch.seq}
	if !p.hasSince {
		return pp
	}
	l.epoch = l.srv.channels.appendEpoch(l.epoch[:0], ch)
	from, recovered := l.recoverFrom(ch, p.epoch, p.seq)
	pp.seq, pp.gap = from, !recovered
	if oldest := ch.hist.oldestSeq(); oldest == 0 {
		pp.seq = max(pp.seq, ch.seq) // nothing kept: resume from now
	} else if oldest-1 > pp.seq {
		pp.seq = oldest - 1 // skip what is gone; the gap says so
	}
	return pp
}

// answerSubscribedPoll answers a poll from its subscriptions' positions
// and leaves its channels.
func (s *session) answerSubscribedPoll(env *conn.Env) {
	positions := s.subPositions()
	s.dropSubscriptions()
	s.kind = kindHTTP
	s.answerPoll(env, positions)
}

// subPositions returns the positions of s's subscriptions, in the loop's
// scratch.
func (s *session) subPositions() []pollPos {
	l := s.loop
	l.pollPos = l.pollPos[:0]
	for _, ss := range s.subs {
		l.pollPos = append(l.pollPos, pollPos{ch: ss.lc.ch, seq: ss.seq, gap: ss.gap})
	}
	return l.pollPos
}

// answerPoll writes the poll's answer from history: every message after
// the positions, up to the batch limits, and the cursor after them.
func (s *session) answerPoll(env *conn.Env, positions []pollPos) {
	l, srv := s.loop, s.loop.srv
	l.replay = l.replay[:0]
	for i := range positions {
		pp := &positions[i]
		ch := pp.ch
		ch.mu.Lock()
		ch.hist.expire(nowMillis() - srv.cfg.HistoryTTL.Milliseconds())
		// History may have moved past the position while the poll was
		// parked (more messages than it holds arrived in one drain): say so.
		if oldest := ch.hist.oldestSeq(); ch.seq > pp.seq && (oldest == 0 || oldest > pp.seq+1) {
			pp.gap = true
		}
		l.replay = ch.hist.after(l.replay, pp.seq)
		ch.mu.Unlock()
	}
	msgs := append(l.scratch[:0], `,"msgs":[`...)
	n := 0
	for _, m := range l.replay {
		if n >= srv.cfg.PollBatch || (n > 0 && len(msgs)+len(m.json) > srv.cfg.MaxOutboundBytes) {
			break // the cursor stops here; the next poll continues
		}
		pp := positionOf(positions, m.ch)
		if m.seq <= pp.seq {
			continue
		}
		if n > 0 {
			msgs = append(msgs, ',')
		}
		msgs = append(msgs, m.json...)
		pp.seq = m.seq
		n++
	}
	clear(l.replay)
	msgs = append(msgs, ']')
	msgs = appendGaps(msgs, positions)
	l.scratch = msgs

	body := append(l.body[:0], `{"cursor":"`...)
	for i := range positions {
		if i > 0 {
			body = append(body, cursorSep)
		}
		body = l.appendPosition(body, positions[i].ch, positions[i].seq)
	}
	body = append(body, '"')
	body = append(body, msgs...)
	body = append(body, '}')
	l.body = body
	env.Out = codec.AppendResponse(env.Out, 200, jsonType, s.corsHeaders(s.stream.origin), body, s.stream.keepAlive)
}

func positionOf(positions []pollPos, ch *channel) *pollPos {
	for i := range positions {
		if positions[i].ch == ch {
			return &positions[i]
		}
	}
	return &pollPos{} // unreachable: replays come from these channels
}

// appendGaps appends ,"gap":[...] naming the channels whose history did
// not reach back, if any.
func appendGaps(dst []byte, positions []pollPos) []byte {
	first := true
	for _, p := range positions {
		if !p.gap {
			continue
		}
		if first {
			dst = append(dst, `,"gap":[`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p.ch.name...)
		dst = append(dst, '"')
	}
	if !first {
		dst = append(dst, ']')
	}
	return dst
}

// finishPoll answers a parked poll outside a Feed (a message arrived, the
// hold ended, the node drains) and resumes reading requests.
func (s *session) finishPoll() {
	l := s.loop
	s.loop.wheel.Cancel(&s.timer)
	s.answerSubscribedPoll(&l.env)
	l.flush(s)
	s.stream.ready = false
	s.Unpark(s.stream.keepAlive)
	if s.State() == conn.StateClosed {
		s.closeSocket(conn.ReasonNormal)
		return
	}
	s.arm(phaseRequest, l.srv.cfg.HandshakeTimeout)
	if s.gc.InboundBuffered() > 0 {
		_ = s.gc.Wake(nil) // a pipelined request waited behind the poll
	}
}

// pollWait returns the hold time a poll asks for, capped by PollHold.
func (s *session) pollWait(req *codec.Request) (d time.Duration, err error) {
	cfg := &s.loop.srv.cfg
	v, ok, err := codec.QueryValue(s.loop.scratch[:0], req.RawQuery, "wait")
	if err != nil || !ok {
		return cfg.PollHold, err
	}
	secs, err := strconv.Atoi(string(v))
	if err != nil || secs < 0 {
		return 0, errBadWait
	}
	return min(time.Duration(secs)*time.Second, cfg.PollHold), nil
}

// openStream serves /sse, /stream and /iframe: the response head, an open
// event with the cursor, the replay, then live messages as they come.
func (s *session) openStream(env *conn.Env, req *codec.Request, kind sessionKind) {
	if !s.openTransport(env, req, kind) {
		return
	}
	l := s.loop
	out := codec.AppendStatusLine(env.Out, 200)
	switch kind {
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
	}
	// SSE and iframe bodies end when the connection does (RFC 9112 §6.3).
	if kind != kindStream {
		out = codec.AppendHeader(out, "Connection", "close")
	}
	out = codec.AppendHeader(out, "X-Accel-Buffering", "no") // nginx must not buffer
	out = codec.AppendHeader(out, "X-Content-Type-Options", "nosniff")
	out = append(out, s.corsHeaders(s.stream.origin)...)
	out = append(out, '\r', '\n')
	env.Out = s.appendOpen(out, kind)
	l.flush(s)

	for i, m := range l.replay {
		s.send(m, s.subIndex(m.ch))
		l.replay[i] = nil
	}
	s.Park()
	s.arm(phasePing, l.srv.cfg.StreamHeartbeat)
	l.srv.stats.streams.Add(1)
	if s.State() != conn.StateClosed && s.gc.OutboundBuffered() > l.srv.cfg.MaxOutboundBytes {
		s.Close(env, conn.ReasonSlowConsumer)
	}
}

// appendOpen appends the first event of a stream: {"op":"open","cursor":…}.
func (s *session) appendOpen(dst []byte, kind sessionKind) []byte {
	l := s.loop
	ev := append(l.body[:0], `{"op":"open","cursor":"`...)
	ev = appendCursor(ev, s)
	ev = append(ev, '"')
	ev = appendGaps(ev, s.subPositions())
	ev = append(ev, '}')
	l.body = ev
	switch kind {
	case kindSSE:
		dst = append(dst, "retry: 2000\n\n"...)
		dst = s.appendSSEID(dst)
		dst = append(dst, "data: "...)
		dst = append(dst, ev...)
		return append(dst, '\n', '\n')
	case kindStream:
		return appendChunk(dst, ev, '\n')
	default: // iframe
		dst = append(dst, iframeHead...)
		return s.appendScript(dst, ev)
	}
}

// iframeHead opens the page; old browsers render nothing of a streamed
// document before about 1 KiB has arrived, hence the padding.
var iframeHead = func() string {
	pad := make([]byte, 1024)
	for i := range pad {
		pad[i] = ' '
	}
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n<!--" + string(pad) + "-->\n"
}()

// appendScript appends <script>parent.CB(json);</script> for an html-safe json.
func (s *session) appendScript(dst, safeJSON []byte) []byte {
	dst = append(dst, "<script>parent."...)
	dst = append(dst, s.stream.callback...)
	dst = append(dst, '(')
	dst = append(dst, safeJSON...)
	return append(dst, ");</script>\n"...)
}

// appendSSEID appends the id line: the cursor as it stands.
func (s *session) appendSSEID(dst []byte) []byte {
	dst = append(dst, "id: "...)
	dst = appendCursor(dst, s)
	return append(dst, '\n')
}

// send writes one message to s in its transport's format; i indexes the
// subscription it belongs to. Called by the fan-out and by replays.
func (s *session) send(m *message, i int) {
	l := s.loop
	if s.kind != kindPoll {
		s.subs[i].seq = m.seq
	}
	switch s.kind {
	case kindNative:
		_, _ = s.gc.Write(m.frame)
	case kindSSE:
		l.iov[0] = s.appendSSEID(l.line[:0])
		l.iov[1] = m.sseEvent()
		l.line = l.iov[0]
		_, _ = s.gc.Writev(l.iov[:2])
	case kindStream:
		_, _ = s.gc.Write(m.streamChunk())
	case kindIframe:
		// m.json, not m.htmlSafe(), would let a payload end the script.
		l.line = s.appendScript(l.line[:0], m.htmlSafe())
		_, _ = s.gc.Write(l.line)
	case kindPoll:
		// Answered from history once the whole drain batch is in, so one
		// answer carries every message that arrived together.
		if !s.stream.ready {
			s.stream.ready = true
			l.readyPolls = append(l.readyPolls, s)
		}
	}
}

// heartbeat keeps an idle stream (and the proxies on its way) alive.
func (s *session) heartbeat() {
	switch s.kind {
	case kindSSE:
		_, _ = s.gc.Write(sseHeartbeat)
	case kindStream:
		_, _ = s.gc.Write(streamHeartbeat)
	case kindIframe:
		_, _ = s.gc.Write(iframeHeartbeat)
	}
}

// Heartbeats, built once (read-only).
var (
	sseHeartbeat    = []byte(": hb\n\n")
	streamHeartbeat = appendChunk(nil, []byte(`{"op":"hb"}`), '\n')
	iframeHeartbeat = []byte("<!-- hb -->\n")
)

// subIndex returns the index of s's subscription to ch.
func (s *session) subIndex(ch *channel) int {
	for i := range s.subs {
		if s.subs[i].lc.ch == ch {
			return i
		}
	}
	return -1
}

// validCallback reports whether cb is a dotted JavaScript identifier path
// of at most 64 bytes: nothing that could escape the call expression.
func validCallback(cb []byte) bool {
	if len(cb) == 0 || len(cb) > 64 {
		return false
	}
	start := true
	for _, c := range cb {
		switch {
		case c == '.':
			if start {
				return false
			}
			start = true
		case c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			start = false
		case c >= '0' && c <= '9':
			if start {
				return false
			}
		default:
			return false
		}
	}
	return !start
}

// send serves POST /send: one client message of the WebSocket protocol.
func (s *session) sendRequest(env *conn.Env, req *codec.Request, body []byte) {
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	extra := s.corsHeaders(origin)
	var m protocol.ClientMessage
	var reply []byte
	switch err := protocol.ParseClientMessage(body, &m); {
	case err != nil:
		reply = protocol.AppendErr(s.scratch(), m.ID, errCodeBadRequest, errorText(err))
	case m.Op == protocol.OpPing:
		reply = protocol.AppendPong(s.scratch(), m.ID)
	case m.Op != protocol.OpPub:
		reply = protocol.AppendErr(s.scratch(), m.ID, errCodeBadRequest, "only pub and ping are sent over HTTP; name channels in the transport request")
	default:
		reply, _ = s.publishReply(&m)
	}
	s.loop.replyBuf = reply
	s.Respond(env, 200, jsonType, extra, reply)
}
