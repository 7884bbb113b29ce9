package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
	"github.com/gobwas/ws"
)

// kind says which transport a connection speaks; it indexes transports.
type kind uint8

const (
	kindHTTP   kind = iota // plain HTTP requests, or not yet upgraded
	kindNative             // /ws: the JSON pub/sub protocol
	kindEcho               // /echo: every message sent back
	kindPoll               // /poll, parked or being answered
	kindSSE                // /sse
	kindStream             // /stream
	kindIframe             // /iframe
	kindCount
)

// isWebSocket reports whether the kind is an upgraded connection.
func (k kind) isWebSocket() bool { return transports[k].websocket }

// transport is everything that differs between transports, in one place:
// how a message is framed, how a control event (the stream's opening, a
// resync) is framed, how an idle stream is kept alive, and what ends it.
// Sessions, joins, the fan-out and the close path are the same for all.
type transport struct {
	name      string
	websocket bool
	// write sends one message straight to the socket (the fan-out path:
	// shared bytes, no copy into the loop's output buffer); l is s.loop.
	write func(l *loop, s *session, m *message)
	// shared returns the bytes write sends, uncorked, to a subscriber
	// that does not compress: the same for every subscriber, so the
	// fan-out writes them itself (nil: write's bytes differ per
	// subscriber).
	shared func(m *message) []byte
	// event appends a control event carrying json in the transport's
	// framing (nil: the transport carries none).
	event func(s *session, dst, json []byte) []byte
	// heartbeat keeps an idle stream (and the proxies on its way) alive.
	heartbeat []byte
	// trailer ends the response cleanly when the server ends a parked
	// request (the last chunk of a chunked body).
	trailer []byte
}

var transports = [kindCount]transport{
	kindHTTP:   {name: "http"},
	kindNative: {name: "ws", websocket: true, write: writeFrame, shared: plainFrame, event: wsControl},
	kindEcho:   {name: "echo", websocket: true},
	kindPoll:   {name: "poll"},
	kindSSE: {name: "sse", write: writeSSE, event: sseControl,
		heartbeat: []byte(": hb\n\n")},
	kindStream: {name: "stream", write: writeChunk, shared: (*message).streamChunk, event: chunkControl,
		heartbeat: appendChunk(nil, []byte(`{"op":"hb"}`), '\n'), trailer: []byte("0\r\n\r\n")},
	kindIframe: {name: "iframe", write: writeScript, event: scriptControl,
		heartbeat: []byte("<!-- hb -->\n")},
}

func (s *session) transport() *transport { return &transports[s.kind] }

// writeFrame: the shared WebSocket frame, compressed where negotiated.
func writeFrame(l *loop, s *session, m *message) {
	b := m.frame
	if s.Deflate() {
		b = m.wsFrame(true)
	}
	l.emit(s, b)
}

// plainFrame: the shared frame of a connection that does not compress.
func plainFrame(m *message) []byte { return m.frame }

// wsControl: a text frame.
func wsControl(_ *session, dst, json []byte) []byte {
	return codec.AppendFrame(dst, ws.OpText, json)
}

// writeSSE: the subscriber's id line (its cursor after the message), then
// the shared event, in one writev.
func writeSSE(l *loop, s *session, m *message) {
	l.line = s.appendSSEID(l.line[:0])
	if l.cork == s {
		l.emitCopy(s, l.line)
		l.emit(s, m.sseEvent())
		return
	}
	l.iov[0], l.iov[1] = l.line, m.sseEvent()
	l.stats.wrote(len(l.iov[0]) + len(l.iov[1]))
	_, _ = s.gc.Writev(l.iov[:2])
}

// sseControl: an event with the cursor as its id.
func sseControl(s *session, dst, json []byte) []byte {
	dst = s.appendSSEID(dst)
	dst = append(dst, "data: "...)
	dst = append(dst, json...)
	return append(dst, '\n', '\n')
}

// writeChunk: the shared chunk.
func writeChunk(l *loop, s *session, m *message) { l.emit(s, m.streamChunk()) }

// chunkControl: one chunk holding one line.
func chunkControl(_ *session, dst, json []byte) []byte { return appendChunk(dst, json, '\n') }

// writeScript: the subscriber's callback around the shared HTML-safe JSON
// (m.json itself would let a payload end the script).
func writeScript(l *loop, s *session, m *message) {
	l.line = s.appendScript(l.line[:0], m.htmlSafe())
	l.emitCopy(s, l.line)
}

// scriptControl: a script element; json is made HTML-safe first.
func scriptControl(s *session, dst, json []byte) []byte {
	l := s.loop
	l.scratch = appendHTMLSafeJSON(l.scratch[:0], json)
	return s.appendScript(dst, l.scratch)
}

// heartbeat writes the transport's keep-alive.
func (s *session) heartbeat() {
	hb := s.transport().heartbeat
	if s.kind == kindIframe && s.http != nil && s.http.target != "" {
		// A page on another origin cannot read the frame's comments: it
		// gets the heartbeat as an event, through postMessage.
		l := s.loop
		l.line = s.appendScript(l.line[:0], hbEvent)
		hb = l.line
	}
	if hb != nil {
		_, _ = s.gc.Write(hb)
		s.loop.stats.wrote(len(hb))
		s.checkBudget()
	}
}

// hbEvent is the heartbeat as a stream event.
var hbEvent = []byte(`{"op":"hb"}`)

// appendSSEID appends the id line: the cursor as it stands.
func (s *session) appendSSEID(dst []byte) []byte {
	dst = append(dst, "id: "...)
	dst = s.appendCursor(dst)
	return append(dst, '\n')
}

// appendCursor appends the cursor of s's subscriptions.
func (s *session) appendCursor(dst []byte) []byte {
	for i := range s.subs {
		if i > 0 {
			dst = append(dst, protocol.CursorSep)
		}
		ss := &s.subs[i]
		dst = protocol.AppendPosition(dst, ss.lc.name, ss.epoch, ss.seq)
	}
	return dst
}

// take gives subscription ss one message, live or from a replay, through
// the one step that de-duplicates and finds gaps (protocol.LiveStep), and
// writes it when it is the next one. A subscriber that joined a channel
// with no stream is told the stream's epoch before its first message.
func (s *session) take(ss *sessionSub, m *message) protocol.Live {
	step := protocol.LiveStep(ss.epoch, ss.seq, m.pub)
	switch step {
	case protocol.LiveAdopt:
		// The stream's first message to a subscriber that joined before it
		// had one: the epoch event and the message leave in one write, not
		// two (every subscriber of a new channel takes this path once).
		corked := s.loop.corkFor(s)
		s.tellEpoch(ss.lc.name, m.pub.Epoch)
		s.writeNext(ss, m)
		if corked {
			s.loop.uncork()
		}
		if s.isGone() {
			return protocol.LiveSkip // the write failed: gnet closed the connection
		}
	case protocol.LiveDeliver:
		s.writeNext(ss, m)
	}
	return step
}

// writeNext moves ss to m and writes m.
func (s *session) writeNext(ss *sessionSub, m *message) {
	ss.epoch, ss.seq = m.pub.Epoch, m.pub.Seq
	s.transport().write(s.loop, s, m)
}

// own reports whether s published m without asking for it back.
func (s *session) own(m *message) bool {
	c := publisherConn(m)
	return c != "" && s.isFrom(c)
}

// publisherConn is the connection that published m and asked not to get
// it back, or "".
func publisherConn(m *message) string {
	if p := m.pub.Publisher; p != nil {
		return p.Conn
	}
	return ""
}

// isFrom reports whether s is the connection c (not "").
func (s *session) isFrom(c string) bool { return s.who != nil && s.who.conn == c }

// pass moves ss past m without writing it (its own publication): the
// client has the message, so cursors and de-duplication go on from it.
func (s *session) pass(ss *sessionSub, m *message) {
	switch protocol.LiveStep(ss.epoch, ss.seq, m.pub) {
	case protocol.LiveAdopt:
		s.tellEpoch(ss.lc.name, m.pub.Epoch)
		fallthrough
	case protocol.LiveDeliver:
		ss.epoch, ss.seq = m.pub.Epoch, m.pub.Seq
	case protocol.LiveGap:
		s.loop.gaps = append(s.loop.gaps, gapAt{s, ss.lc.name})
	}
}

// tellEpoch writes the event that names the epoch of a stream that began.
func (s *session) tellEpoch(channel, epoch string) {
	ev := s.transport().event
	if ev == nil {
		return
	}
	l := s.loop
	l.body = protocol.AppendEpochEvent(l.body[:0], channel, epoch)
	l.line = ev(s, l.line[:0], l.body)
	l.emitCopy(s, l.line)
}
