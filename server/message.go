package server

import (
	"strconv"
	"sync/atomic"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
	"github.com/gobwas/ws"
)

// message is a publication with its wire encodings, built once per node
// and shared, read-only, by every loop that delivers it and by history
// replays: the WebSocket frame (which also holds the JSON envelope) when
// the message is made, the HTTP formats and the compressed WebSocket frame
// on first use, by whichever loop needs them first.
type message struct {
	pub   *broker.Publication
	frame []byte // WebSocket text frame carrying json
	json  []byte // {"op":"msg",...}: the tail of frame

	sse   atomic.Pointer[[]byte] // "data: {json}\n\n"
	chunk atomic.Pointer[[]byte] // one chunk: "{json}\n"
	html  atomic.Pointer[[]byte] // json with <, >, &, U+2028/9 escaped

	deflated atomic.Pointer[deflated] // compressed frame, deflate connections only (deflate.go)
}

// messageOf returns p's message, building it on first use and keeping it
// in p's memo, so that a replay from an in-process history reuses the
// bytes built for live delivery. Any goroutine.
func messageOf(p *broker.Publication) *message {
	if m, ok := p.Memo.Load().(*message); ok {
		return m
	}
	m := newMessage(p)
	if !p.Memo.CompareAndSwap(nil, m) {
		return p.Memo.Load().(*message) // another goroutine won; use its copy
	}
	return m
}

func newMessage(p *broker.Publication) *message {
	m := &message{pub: p}
	// Write the envelope once, after room for the largest server frame
	// header, then put the header right before it: one buffer, no copy.
	const room = 10 // RFC 6455 §5.2: 2 bytes + 8 of extended length, unmasked
	var from string
	if p.Publisher != nil {
		from = p.Publisher.User
	}
	buf := make([]byte, room, room+104+len(p.Channel)+len(from)+len(p.Conversation)+len(p.Data))
	buf = protocol.AppendMsg(buf, p.Channel, p.Seq, p.Time, from, p.Conversation, p.Data)
	var hdr [room]byte
	h := codec.AppendFrameHeader(hdr[:0], ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(buf) - room)})
	start := room - len(h)
	copy(buf[start:], h)
	m.frame, m.json = buf[start:], buf[room:]
	return m
}

// lazy returns the format held in p, building it on first use. Two loops
// may build it at once; both results are equal and either may win.
func lazy(p *atomic.Pointer[[]byte], build func() []byte) []byte {
	if b := p.Load(); b != nil {
		return *b
	}
	b := build()
	p.Store(&b)
	return b
}

// sseEvent returns the data part of the message's SSE event; the id line,
// which differs per subscriber, is written before it.
func (m *message) sseEvent() []byte {
	return lazy(&m.sse, func() []byte {
		b := make([]byte, 0, len(m.json)+8)
		b = append(b, "data: "...)
		b = append(b, m.json...)
		return append(b, '\n', '\n')
	})
}

// streamChunk returns the message as one HTTP chunk holding one line.
func (m *message) streamChunk() []byte {
	return lazy(&m.chunk, func() []byte {
		return appendChunk(make([]byte, 0, len(m.json)+16), m.json, '\n')
	})
}

// appendChunk appends one chunk (RFC 9112 §7.1) of body plus a trailing byte.
func appendChunk(dst, body []byte, trail byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(body)+1), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, body...)
	return append(dst, trail, '\r', '\n')
}

// htmlSafe returns the JSON envelope safe inside an HTML script element.
func (m *message) htmlSafe() []byte {
	return lazy(&m.html, func() []byte { return appendHTMLSafeJSON(nil, m.json) })
}

// appendHTMLSafeJSON appends JSON text with every <, > and & escaped as
// \u003c, \u003e, \u0026 and U+2028/U+2029 as \u2028/\u2029. In valid JSON
// these can only occur inside strings, where the escapes mean the same
// characters, so the value is unchanged while no "</script>" or "<!--"
// can appear in the page.
func appendHTMLSafeJSON(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '<':
			dst = append(dst, `\u003c`...)
		case c == '>':
			dst = append(dst, `\u003e`...)
		case c == '&':
			dst = append(dst, `\u0026`...)
		case c == 0xe2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xa8 || src[i+2] == 0xa9):
			dst = append(dst, `\u202`...)
			dst = append(dst, "89"[src[i+2]-0xa8])
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
