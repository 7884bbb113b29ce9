package conn

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// step is one read: in is appended to the bytes left unconsumed by the
// previous step and the whole is fed once.
type step struct {
	in       []byte
	consumed int // bytes Feed must consume; -1: all that was buffered
	need     int // Need() after the step; -1: not checked
}

func once(in []byte) []step { return []step{{in: in, consumed: -1}} }

func str(s string) []byte { return []byte(s) }

// feedCase is (initial state, input bytes) → (output, final state, reason,
// consumed, handler calls).
type feedCase struct {
	name   string
	from   State
	limits Limits
	steps  []step
	calls  []string // handler calls, in order
	out    []string // responses and frames (see renderOutput), in order
	state  State
	reason Reason
	bug    string // a reported bug: the row states the fixed behaviour and is skipped
	// deflate: the handler accepts permessage-deflate and a WebSocket
	// starting state is reached with an offer.
	deflate bool
}

const (
	getHello  = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
	getWorld  = "GET /world?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
	postHead  = "POST /pub HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"
	chunkHead = "POST /pub HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunkBody = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
)

var (
	protoClose = `close 1002 "protocol error"`
	utf8Close  = `close 1007 "invalid utf-8"`
	bigClose   = `close 1009 "message too big"`
)

func httpCases() []feedCase {
	return []feedCase{
		{
			name:  "get keep-alive",
			steps: once(str(getHello)),
			calls: []string{`req GET /hello ""`},
			out:   []string{ok200("GET /hello 0", true)},
			state: StateHead,
		},
		{
			name:  "two pipelined requests answered in order",
			steps: once(str(getHello + getWorld)),
			calls: []string{`req GET /hello ""`, `req GET /world ""`},
			out:   []string{ok200("GET /hello 0", true), ok200("GET /world 0", true)},
			state: StateHead,
		},
		{
			name:  "pipelined with a partial third",
			steps: []step{{in: str(getHello + getWorld + "GET /a HT"), consumed: len(getHello + getWorld)}},
			calls: []string{`req GET /hello ""`, `req GET /world ""`},
			out:   []string{ok200("GET /hello 0", true), ok200("GET /world 0", true)},
			state: StateHead,
		},
		{
			name: "partial head then the rest",
			steps: []step{
				{in: str(getHello[:20]), consumed: 0, need: 0},
				{in: str(getHello[20:]), consumed: len(getHello)},
			},
			calls: []string{`req GET /hello ""`},
			out:   []string{ok200("GET /hello 0", true)},
			state: StateHead,
		},
		{
			name:  "partial head: nothing consumed, nothing written",
			steps: []step{{in: str(getHello[:len(getHello)-1]), consumed: 0, need: 0}},
			state: StateHead,
		},
		{
			name:   "connection close",
			steps:  once(str("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")),
			calls:  []string{`req GET /bye ""`},
			out:    []string{ok200("GET /bye 0", false)},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "connection close swallows a pipelined request",
			steps:  once(str("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + getHello)),
			calls:  []string{`req GET /bye ""`},
			out:    []string{ok200("GET /bye 0", false)},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "http/1.0 without keep-alive closes",
			steps:  once(str("GET /old HTTP/1.0\r\n\r\n")),
			calls:  []string{`req GET /old ""`},
			out:    []string{ok200("GET /old 0", false)},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			// The kept connection is announced: an HTTP/1.0 client would
			// otherwise wait for the close (RFC 9112 §9.3).
			name:  "http/1.0 keep-alive",
			steps: once(str("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")),
			calls: []string{`req GET /old ""`},
			out: []string{strings.Replace(ok200("GET /old 0", true), "nosniff\r\n",
				"nosniff\r\nConnection: keep-alive\r\n", 1)},
			state: StateHead,
		},
		{
			name:   "oversized head: 431",
			limits: Limits{Head: codec.Limits{MaxHeaderBytes: 64}},
			steps:  once(str("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("a", 64) + "\r\n\r\n")),
			out:    []string{rejected(431, "Request Header Fields Too Large", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "oversized head without its end: 431",
			limits: Limits{Head: codec.Limits{MaxHeaderBytes: 64}},
			steps:  once(str("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("a", 64))),
			out:    []string{rejected(431, "Request Header Fields Too Large", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "too many headers: 431",
			limits: Limits{Head: codec.Limits{MaxHeaders: 2}},
			steps:  once(str("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n")),
			out:    []string{rejected(431, "Request Header Fields Too Large", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "bare LF: 400",
			steps:  once(str("GET / HTTP/1.1\nHost: h\r\n\r\n")),
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "bad request rejected from a prefix, rest swallowed",
			steps:  once(str("G@T / HTTP/1.1\r\n" + getHello)),
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "missing host: 400",
			steps:  once(str("GET / HTTP/1.1\r\n\r\n")),
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "content-length with transfer-encoding: 400",
			steps:  once(str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")),
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "uri too long: 414",
			limits: Limits{Head: codec.Limits{MaxTargetBytes: 8}},
			steps:  once(str("GET /123456789 HTTP/1.1\r\nHost: h\r\n\r\n")),
			out:    []string{rejected(414, "URI Too Long", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "http/2.0: 505",
			steps:  once(str("GET / HTTP/2.0\r\nHost: h\r\n\r\n")),
			out:    []string{rejected(505, "HTTP Version Not Supported", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "gzip transfer-encoding: 501",
			steps:  once(str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")),
			out:    []string{rejected(501, "Not Implemented", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:  "content-length body whole",
			steps: once(str(postHead + "hello world")),
			calls: []string{`req POST /pub "hello world"`},
			out:   []string{ok200("POST /pub 11", true)},
			state: StateHead,
		},
		{
			name: "content-length body split: Need is the total",
			steps: []step{
				{in: str(postHead + "hel"), consumed: 0, need: len(postHead) + 11},
				{in: str("lo wor"), consumed: 0, need: len(postHead) + 11},
				{in: str("ld" + getHello), consumed: -1, need: 0},
			},
			calls: []string{`req POST /pub "hello world"`, `req GET /hello ""`},
			out:   []string{ok200("POST /pub 11", true), ok200("GET /hello 0", true)},
			state: StateHead,
		},
		{
			name:   "content-length over MaxBodyBytes: 413",
			limits: Limits{MaxBodyBytes: 10},
			steps:  once(str(postHead)),
			out:    []string{rejected(413, "Content Too Large", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "content-length at MaxBodyBytes",
			limits: Limits{MaxBodyBytes: 11},
			steps:  once(str(postHead + "hello world")),
			calls:  []string{`req POST /pub "hello world"`},
			out:    []string{ok200("POST /pub 11", true)},
			state:  StateHead,
		},
		{
			name:  "chunked body",
			steps: once(str(chunkHead + chunkBody + getHello)),
			calls: []string{`req POST /pub "hello world"`, `req GET /hello ""`},
			out:   []string{ok200("POST /pub 11", true), ok200("GET /hello 0", true)},
			state: StateHead,
		},
		{
			name: "chunked body split: consumed as it arrives",
			steps: []step{
				{in: str(chunkHead + chunkBody[:9]), consumed: -1, need: 0},
				{in: str(chunkBody[9:20]), consumed: -1, need: 0},
				{in: str(chunkBody[20:] + getHello[:5]), consumed: len(chunkBody) - 20, need: 0},
			},
			calls: []string{`req POST /pub "hello world"`},
			out:   []string{ok200("POST /pub 11", true)},
			state: StateHead,
		},
		{
			name:   "chunked body over MaxBodyBytes: 413",
			limits: Limits{MaxBodyBytes: 10},
			steps:  once(str(chunkHead + chunkBody)),
			out:    []string{rejected(413, "Content Too Large", "")},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "chunked body malformed: 400",
			steps:  once(str(chunkHead + "5\r\nhelloXX")),
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:  "upgrade with pipelined frames",
			steps: once(cat(str(upgradeReq), text("hi"), ping("p"))),
			calls: []string{`req GET /ws ""`, `msg text "hi"`},
			out:   []string{upgrade101, `pong "p"`},
			state: StateWebSocket,
		},
		{
			name:  "upgrade with a partial frame after it",
			steps: []step{{in: cat(str(upgradeReq), text("hi")[:3]), consumed: len(upgradeReq), need: 6}},
			calls: []string{`req GET /ws ""`},
			out:   []string{upgrade101},
			state: StateWebSocket,
		},
		{
			name:   "upgrade without a version: 426, frames swallowed",
			steps:  once(cat(str(strings.Replace(upgradeReq, "Sec-WebSocket-Version: 13\r\n", "", 1)), text("hi"))),
			calls:  []string{`req GET /ws ""`},
			out:    []string{rejected(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "upgrade with a bad key: 400",
			steps:  once(str(strings.Replace(upgradeReq, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1))),
			calls:  []string{`req GET /ws ""`},
			out:    []string{rejected(400, "Bad Request", "")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "plain GET to the websocket path: 426",
			steps:  once(str("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n")),
			calls:  []string{`req GET /ws ""`},
			out:    []string{rejected(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n")},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:  "park holds back a pipelined request",
			steps: []step{{in: str("GET /park HTTP/1.1\r\nHost: h\r\n\r\n" + getHello), consumed: len("GET /park HTTP/1.1\r\nHost: h\r\n\r\n")}},
			calls: []string{`req GET /park ""`},
			state: StateParked,
		},
		{
			name:   "handler closes without answering",
			steps:  once(str("GET /close HTTP/1.1\r\nHost: h\r\n\r\n" + getHello)),
			calls:  []string{`req GET /close ""`},
			state:  StateClosed,
			reason: ReasonPolicy,
		},
		{
			name:   "handler rejects",
			steps:  once(str("GET /reject HTTP/1.1\r\nHost: h\r\n\r\n" + getHello)),
			calls:  []string{`req GET /reject ""`},
			out:    []string{rejected(403, "Forbidden", "")},
			state:  StateClosed,
			reason: ReasonPolicy,
		},
		{
			name:  "parked: nothing read",
			from:  StateParked,
			steps: []step{{in: str(getHello), consumed: 0}},
			state: StateParked,
		},
		{
			name:   "closed: everything swallowed",
			from:   StateClosed,
			steps:  once(cat(str(getHello), text("x"))),
			state:  StateClosed,
			reason: ReasonPeerClosed,
		},
	}
}

func wsCases() []feedCase {
	cases := []feedCase{
		{
			name:  "masked text",
			steps: once(text("hello")),
			calls: []string{`msg text "hello"`},
		},
		{
			name:  "masked binary, not UTF-8",
			steps: once(frame(true, 0, ws.OpBinary, "\xff\x00")),
			calls: []string{`msg binary "\xff\x00"`},
		},
		{
			name:  "empty text",
			steps: once(text("")),
			calls: []string{`msg text ""`},
		},
		{
			name:  "16-bit length text",
			steps: once(text(strings.Repeat("x", 300))),
			calls: []string{`msg text "` + strings.Repeat("x", 300) + `"`},
		},
		{
			name:  "handler writes a message",
			steps: once(text("echo:hi")),
			calls: []string{`msg text "echo:hi"`},
			out:   []string{`text "echo:hi"`},
		},
		{
			name:  "two frames and a partial third",
			steps: []step{{in: cat(text("a"), text("b"), text("c")[:4]), consumed: 2 * len(text("a")), need: 6}},
			calls: []string{`msg text "a"`, `msg text "b"`},
		},
		{
			name: "frame split: Need is the header, the payload is consumed as it comes",
			steps: []step{
				{in: text("hello")[:1], consumed: 0, need: 2},
				{in: text("hello")[1:4], consumed: 0, need: 6},
				{in: text("hello")[4:8], consumed: 8, need: 0},
				{in: text("hello")[8:], consumed: 3, need: 0},
			},
			calls: []string{`msg text "hello"`},
		},
		{
			name: "control frame split: Need is the whole frame",
			steps: []step{
				{in: ping("hello")[:8], consumed: 0, need: 11},
				{in: ping("hello")[8:], consumed: 11, need: 0},
			},
			out: []string{`pong "hello"`},
		},
		{
			name:   "unmasked: 1002",
			steps:  once(unmaskedFrame(ws.OpText, "hi")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV1: 1002",
			steps:  once(frame(true, 4, ws.OpText, "hi")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV3: 1002",
			steps:  once(frame(true, 1, ws.OpText, "hi")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:  "ping: pong with the same payload",
			steps: once(ping("are you there?")),
			out:   []string{`pong "are you there?"`},
		},
		{
			name:  "ping of 125 bytes",
			steps: once(ping(strings.Repeat("p", 125))),
			out:   []string{`pong "` + strings.Repeat("p", 125) + `"`},
		},
		{
			name:   "ping of 126 bytes: 1002 from the header alone",
			steps:  once(frameLen(true, 0, ws.OpPing, 126, "")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "fragmented ping: 1002",
			steps:  once(frame(false, 0, ws.OpPing, "p")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:  "pong ignored",
			steps: once(frame(true, 0, ws.OpPong, "x")),
		},
		{
			name: "fragmented text with a ping interleaved",
			steps: once(cat(
				frame(false, 0, ws.OpText, "echo:Hel"),
				ping("p"),
				frame(false, 0, ws.OpContinuation, "lo, "),
				frame(true, 0, ws.OpContinuation, "world"),
				text("next"),
			)),
			calls: []string{`msg text "echo:Hello, world"`, `msg text "next"`},
			out:   []string{`pong "p"`, `text "echo:Hello, world"`},
		},
		{
			name:  "fragmented binary",
			steps: once(cat(frame(false, 0, ws.OpBinary, "\xff"), frame(true, 0, ws.OpContinuation, "\xfe"))),
			calls: []string{`msg binary "\xff\xfe"`},
		},
		{
			name:  "empty fragments",
			steps: once(cat(frame(false, 0, ws.OpText, ""), frame(false, 0, ws.OpContinuation, ""), frame(true, 0, ws.OpContinuation, ""))),
			calls: []string{`msg text ""`},
		},
		{
			name:   "continuation without a start: 1002",
			steps:  once(frame(true, 0, ws.OpContinuation, "x")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "new text while fragmented: 1002",
			steps:  once(cat(frame(false, 0, ws.OpText, "a"), text("b"))),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "new binary while fragmented: 1002",
			steps:  once(cat(frame(false, 0, ws.OpText, "a"), frame(true, 0, ws.OpBinary, "b"))),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "invalid UTF-8 text: 1007",
			steps:  once(cat(text("ok\xff"), text("after"))),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "truncated rune at the end of a text: 1007",
			steps:  once(text("\xe2\x82")),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:  "rune split across fragments is valid",
			steps: once(cat(frame(false, 0, ws.OpText, "\xce"), frame(true, 0, ws.OpContinuation, "\xba"))),
			calls: []string{`msg text "κ"`},
		},
		{
			name:   "invalid UTF-8 across fragments: 1007",
			steps:  once(cat(frame(false, 0, ws.OpText, "a\xce"), frame(true, 0, ws.OpContinuation, "a"))),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "invalid UTF-8 in a first fragment: 1007 before the message ends",
			steps:  once(frame(false, 0, ws.OpText, "ok\xff")),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "invalid UTF-8 in a middle fragment: 1007 at that fragment",
			steps:  once(cat(frame(false, 0, ws.OpText, "ok"), frame(false, 0, ws.OpContinuation, "\xed\xa0\x80"))),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name: "invalid UTF-8 in a frame still arriving: 1007 at once",
			steps: []step{
				{in: frameLen(true, 0, ws.OpText, 100, "abc"), consumed: -1, need: 0},
				{in: []byte{'d' ^ testMask[3], 0xff ^ testMask[0]}, consumed: -1, need: 0},
			},
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name: "code point split across reads of one frame",
			steps: []step{
				{in: text("aκ")[:7], consumed: -1, need: 0},
				{in: text("aκ")[7:], consumed: -1, need: 0},
			},
			calls: []string{`msg text "aκ"`},
		},
		{
			name:   "code point cut off by the end of a fragmented message: 1007",
			steps:  once(cat(frame(false, 0, ws.OpText, "a"), frame(true, 0, ws.OpContinuation, "\xe2\x82"))),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:  "binary is not checked for UTF-8",
			steps: once(cat(frame(false, 0, ws.OpBinary, "\xff"), frame(true, 0, ws.OpContinuation, "\xe2"))),
			calls: []string{`msg binary "\xff\xe2"`},
		},
		{
			name:   "fragment that would pass MaxMessageBytes: 1009 from its header, nothing buffered",
			limits: Limits{MaxMessageBytes: 16},
			steps: []step{
				{in: frame(false, 0, ws.OpText, "0123456789"), consumed: -1, need: 0},
				{in: frameLen(true, 0, ws.OpContinuation, 7, "")[:6], consumed: -1, need: 0},
			},
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "frame over MaxMessageBytes: 1009 from the header alone",
			limits: Limits{MaxMessageBytes: 16},
			steps:  once(frameLen(true, 0, ws.OpText, 17, "")),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "frame at MaxMessageBytes",
			limits: Limits{MaxMessageBytes: 16},
			steps:  once(text(strings.Repeat("y", 16))),
			calls:  []string{`msg text "yyyyyyyyyyyyyyyy"`},
		},
		{
			name:   "64-bit length: 1009 from the header alone",
			steps:  once(frameLen(true, 0, ws.OpBinary, 1<<40, "")),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			// The cap keeps a frame's remaining length and a message's size
			// in 32 bits whatever a library user asks for.
			name:   "MaxMessageBytes past 1 GiB is 1 GiB: a 2 GiB frame gets 1009 from its header",
			limits: Limits{MaxMessageBytes: math.MaxInt},
			steps:  once(frameLen(true, 0, ws.OpBinary, 1<<31, "")),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "64-bit length with the top bit set: 1002",
			steps:  once([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "fragments over MaxMessageBytes: 1009",
			limits: Limits{MaxMessageBytes: 16},
			steps:  once(cat(frame(false, 0, ws.OpText, "0123456789"), frameLen(true, 0, ws.OpContinuation, 7, ""))),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "fragments at MaxMessageBytes",
			limits: Limits{MaxMessageBytes: 16},
			steps:  once(cat(frame(false, 0, ws.OpText, "0123456789"), ping(""), frame(true, 0, ws.OpContinuation, "abcdef"))),
			calls:  []string{`msg text "0123456789abcdef"`},
			out:    []string{`pong ""`},
		},
		{
			name:   "client close 1000 echoed",
			steps:  once(closeCode(1000, "bye")),
			out:    []string{`close 1000 ""`},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "client close 1012 echoed",
			steps:  once(closeCode(1012, "")),
			out:    []string{`close 1012 ""`},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "client close 4999 echoed",
			steps:  once(closeCode(4999, "é")),
			out:    []string{`close 4999 ""`},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "empty client close echoed empty",
			steps:  once(frame(true, 0, ws.OpClose, "")),
			out:    []string{"close"},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "client close while fragmented",
			steps:  once(cat(frame(false, 0, ws.OpText, "part"), closeCode(1001, ""))),
			out:    []string{`close 1001 ""`},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "data after a close is swallowed",
			steps:  once(cat(closeCode(1000, ""), text("late"), str("garbage"))),
			out:    []string{`close 1000 ""`},
			state:  StateClosed,
			reason: ReasonNormal,
		},
		{
			name:   "close with a 1-byte payload: 1002",
			steps:  once(frame(true, 0, ws.OpClose, "\x03")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "close of 126 bytes: 1002",
			steps:  once(closeCode(1000, strings.Repeat("r", 124))),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "close with a bad UTF-8 reason: 1007",
			steps:  once(closeCode(1000, "\xff")),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "handler closes: 1000 and closing",
			steps:  once(cat(text("bye"), text("after"), ping("x"))),
			calls:  []string{`msg text "bye"`},
			out:    []string{`close 1000 "normal"`},
			state:  StateClosing,
			reason: ReasonNormal,
		},
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		cases = append(cases, feedCase{
			name:   "close with code " + strconv.Itoa(int(code)) + ": 1002",
			steps:  once(closeCode(code, "")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		})
	}
	for _, op := range []ws.OpCode{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		cases = append(cases, feedCase{
			name:   "reserved " + opName(op) + ": 1002",
			steps:  once(frame(true, 0, op, "")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		})
	}
	for i := range cases {
		cases[i].from = StateWebSocket
		if cases[i].state == 0 {
			cases[i].state = StateWebSocket
		}
	}
	// After Close(ReasonShutdown): the server's close frame is out and it
	// waits for the client's.
	closing := []feedCase{
		{
			name:   "closing: client close reply",
			steps:  once(cat(text("late"), closeCode(1001, ""), text("later"))),
			state:  StateClosed,
			reason: ReasonShutdown,
		},
		{
			name:   "closing: data and pings not answered",
			steps:  once(cat(text("late"), ping("p"), frame(false, 0, ws.OpText, "a"), frame(true, 0, ws.OpContinuation, "b"))),
			state:  StateClosing,
			reason: ReasonShutdown,
		},
		{
			name:   "closing: protocol error closes without a second close frame",
			steps:  once(unmaskedFrame(ws.OpText, "x")),
			state:  StateClosed,
			reason: ReasonShutdown,
		},
		{
			name:   "closing: a protocol error mid-message releases the fragment buffer",
			steps:  once(cat(frame(false, 0, ws.OpText, "a"), frame(true, 3, ws.OpContinuation, "b"))),
			state:  StateClosed,
			reason: ReasonShutdown,
		},
		{
			name:   "closing: invalid close payload closes without a second close frame",
			steps:  once(frame(true, 0, ws.OpClose, "\x03")),
			state:  StateClosed,
			reason: ReasonShutdown,
		},
	}
	for i := range closing {
		closing[i].from = StateClosing
	}
	return append(cases, closing...)
}

func TestFeed(t *testing.T) {
	run := func(t *testing.T, cases []feedCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.bug != "" {
					t.Skip(tc.bug)
				}
				hs := newHarness(tc.limits)
				hs.h.deflate = tc.deflate
				hs.toState(t, tc.from)
				for i, st := range tc.steps {
					buffered := len(hs.buf) + len(st.in)
					n := hs.feed(t, st.in)
					want := st.consumed
					if want < 0 {
						want = buffered
					}
					if n != want {
						t.Errorf("step %d: consumed %d of %d, want %d", i, n, buffered, want)
					}
					if st.need >= 0 && hs.c.Need() != st.need {
						t.Errorf("step %d: Need() = %d, want %d", i, hs.c.Need(), st.need)
					}
				}
				if !slices.Equal(hs.h.calls, tc.calls) {
					t.Errorf("calls:\n got %q\nwant %q", hs.h.calls, tc.calls)
				}
				out, err := hs.output()
				if err != nil {
					t.Errorf("output: %v", err)
				}
				if !slices.Equal(out, tc.out) {
					t.Errorf("output:\n got %q\nwant %q", out, tc.out)
				}
				if got := hs.c.State(); got != tc.state {
					t.Errorf("state %v, want %v", got, tc.state)
				}
				if got := hs.c.Reason(); got != tc.reason {
					t.Errorf("reason %v, want %v", got, tc.reason)
				}
				if hs.c.State() == StateClosed && hs.c.holdsBuffers() {
					t.Errorf("closed with a fragment buffer held")
				}
			})
		}
	}
	t.Run("http", func(t *testing.T) { run(t, httpCases()) })
	t.Run("websocket", func(t *testing.T) { run(t, wsCases()) })
	t.Run("deflate", func(t *testing.T) { run(t, deflateCases()) })
}

// TestServerClose: a shutdown close waits in StateClosing for the client's
// reply; a failure closes at once.
func TestServerClose(t *testing.T) {
	hs := newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.c.Close(&hs.env, ReasonShutdown)
	wantOutput(t, hs, `close 1001 "shutdown"`)
	wantState(t, hs, StateClosing, ReasonShutdown)

	hs.reset()
	hs.c.Close(&hs.env, ReasonShutdown) // a second close sends nothing more
	wantOutput(t, hs)
	if hs.c.State() != StateClosed {
		// Close in StateClosing is the owner's timer giving up on the peer.
		t.Fatalf("Close in StateClosing: state %v, want closed", hs.c.State())
	}

	hs = newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.c.Close(&hs.env, ReasonShutdown)
	hs.reset()
	if n := hs.feed(t, closeCode(1001, "")); n != len(closeCode(1001, "")) {
		t.Fatalf("consumed %d", n)
	}
	wantOutput(t, hs)
	wantState(t, hs, StateClosed, ReasonShutdown)
	hs.c.Close(&hs.env, ReasonInternal) // no-op once closed
	wantOutput(t, hs)
	wantState(t, hs, StateClosed, ReasonShutdown)

	for _, tc := range []struct {
		r     Reason
		frame string
		state State
	}{
		{ReasonNormal, `close 1000 "normal"`, StateClosing},
		{ReasonProtocol, `close 1002 "protocol error"`, StateClosed},
		{ReasonUnsupported, `close 1003 "unsupported data"`, StateClosed},
		{ReasonPolicy, `close 1008 "policy violation"`, StateClosed},
		{ReasonInternal, `close 1011 "internal error"`, StateClosed},
		{ReasonSlowConsumer, `close 4001 "slow consumer"`, StateClosed},
		{ReasonIdleTimeout, `close 4002 "idle timeout"`, StateClosed},
	} {
		hs := newHarness(Limits{})
		hs.toState(t, StateWebSocket)
		hs.feed(t, frame(false, 0, ws.OpText, "partial"))
		hs.c.Close(&hs.env, tc.r)
		wantOutput(t, hs, tc.frame)
		wantState(t, hs, tc.state, tc.r)
		if tc.state == StateClosed && hs.c.holdsBuffers() {
			t.Errorf("%v: fragment buffer kept after Close", tc.r)
		}
	}

	// An HTTP connection just closes.
	hs = newHarness(Limits{})
	hs.c.Close(&hs.env, ReasonShutdown)
	wantOutput(t, hs)
	wantState(t, hs, StateClosed, ReasonShutdown)
}

func TestClosed(t *testing.T) {
	hs := newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.feed(t, frame(false, 0, ws.OpText, "partial"))
	if !hs.c.holdsBuffers() {
		t.Fatal("no fragment buffer while reassembling")
	}
	hs.c.Closed()
	wantState(t, hs, StateClosed, ReasonPeerClosed)
	if hs.c.holdsBuffers() {
		t.Fatal("fragment buffer kept after Closed")
	}
	// A reason already set is kept.
	hs = newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.c.Close(&hs.env, ReasonShutdown)
	hs.c.Closed()
	wantState(t, hs, StateClosed, ReasonShutdown)
}

// TestParkUnpark: a parked connection reads nothing until Unpark.
func TestParkUnpark(t *testing.T) {
	park := "GET /park HTTP/1.1\r\nHost: h\r\n\r\n"
	hs := newHarness(Limits{})
	if n := hs.feed(t, str(park+getHello)); n != len(park) {
		t.Fatalf("consumed %d, want %d", n, len(park))
	}
	wantState(t, hs, StateParked, ReasonNone)
	if n := hs.feed(t, str(getWorld)); n != 0 {
		t.Fatalf("parked: consumed %d", n)
	}
	wantCalls(t, hs, `req GET /park ""`)
	wantOutput(t, hs)

	// The handler answers from another event; Respond then writes
	// "Connection: close" as the connection is not reading requests.
	hs.c.Respond(&hs.env, 200, "text/plain", nil, str("late"))
	hs.c.Unpark(true)
	wantState(t, hs, StateHead, ReasonNone)
	hs.c.Unpark(true) // no-op when not parked
	wantState(t, hs, StateHead, ReasonNone)
	hs.reset()
	if n := hs.feed(t, nil); n != len(getHello+getWorld) {
		t.Fatalf("after Unpark: consumed %d", n)
	}
	wantCalls(t, hs, `req GET /hello ""`, `req GET /world ""`)
	wantOutput(t, hs, ok200("GET /hello 0", true), ok200("GET /world 0", true))

	hs = newHarness(Limits{})
	hs.feed(t, str(park+getHello))
	hs.c.Unpark(false)
	wantState(t, hs, StateClosed, ReasonNormal)
	hs.reset()
	if n := hs.feed(t, nil); n != len(getHello) {
		t.Fatalf("closed after Unpark(false): consumed %d", n)
	}
	wantCalls(t, hs)

	// Close while parked.
	hs = newHarness(Limits{})
	hs.feed(t, str(park))
	hs.c.Close(&hs.env, ReasonIdleTimeout)
	wantState(t, hs, StateClosed, ReasonIdleTimeout)
	hs.c.Unpark(true)
	wantState(t, hs, StateClosed, ReasonIdleTimeout)
}

// TestRespondKeepAlive: Respond follows the request's keep-alive only while
// the connection reads requests.
func TestRespondKeepAlive(t *testing.T) {
	hs := newHarness(Limits{})
	hs.feed(t, str("GET /park HTTP/1.1\r\nHost: h\r\n\r\n"))
	hs.c.Respond(&hs.env, 204, "", nil, nil)
	wantOutput(t, hs, "HTTP/1.1 204 No Content\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n")
}

// TestWriteMessage: server frames are unmasked and FIN.
func TestWriteMessage(t *testing.T) {
	hs := newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.c.WriteMessage(&hs.env, ws.OpText, str("a"))
	hs.c.WriteMessage(&hs.env, ws.OpBinary, make([]byte, 70000))
	out, err := hs.output()
	if err != nil || len(out) != 2 || out[0] != `text "a"` {
		t.Fatalf("%v %.40q", err, out)
	}
}

// TestNeedIsLowerBound: the server skips Feed while fewer than Need()
// bytes are buffered, so Need() must never exceed the length of an input
// on which Feed makes progress. Each script is fed prefix by prefix; after
// every prefix that consumes nothing, Need() must be at most the length of
// the whole script.
func TestNeedIsLowerBound(t *testing.T) {
	scripts := []struct {
		name string
		from State
		in   []byte
		bug  string
	}{
		{"content-length", StateHead, str(postHead + "hello world"), ""},
		{"frames", StateWebSocket, cat(text(strings.Repeat("t", 300)), frame(false, 0, ws.OpText, "ab"), ping("p"), frame(true, 0, ws.OpContinuation, "cd")), ""},
		{"chunked", StateHead, str(chunkHead + chunkBody), ""},
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			if sc.bug != "" {
				t.Skip(sc.bug)
			}
			for k := range len(sc.in) {
				hs := newHarness(Limits{})
				hs.toState(t, sc.from)
				if n := hs.feed(t, sc.in[:k]); n == 0 && hs.c.Need() > len(sc.in) {
					t.Fatalf("after %d of %d bytes: Need() = %d: a server honouring it never feeds the rest",
						k, len(sc.in), hs.c.Need())
				}
			}
		})
	}
}

// TestChunkedNeedStall checks the way the server meets a chunked body: a
// chunked POST whose last bytes arrive in a small read is never fed.
func TestChunkedNeedStall(t *testing.T) {
	hs := newHarness(Limits{})
	first := str(chunkHead + "5\r\nhello\r\n6\r\n world\r\n")
	hs.feed(t, first)
	hs.buf = append(hs.buf, "0\r\n\r\n"...)
	if need := hs.c.Need(); need > len(hs.buf) {
		t.Fatalf("complete request of %d bytes buffered, Need() = %d: the server waits forever", len(hs.buf), need)
	}
}

func TestStateAndReasonNames(t *testing.T) {
	names := map[State]string{StateHead: "head", StateWebSocket: "websocket", StateParked: "parked",
		StateClosing: "closing", StateClosed: "closed", 99: "unknown"}
	for s, want := range names {
		if s.String() != want {
			t.Errorf("State(%d) = %q, want %q", s, s.String(), want)
		}
	}
	for r := ReasonNone; r < ReasonCount; r++ {
		if r.String() == "" || r.String() == "unknown" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	if Reason(200).String() != "unknown" {
		t.Errorf("Reason(200) = %q", Reason(200).String())
	}
}

func TestReasonCodes(t *testing.T) {
	for _, tc := range []struct {
		r      Reason
		code   ws.StatusCode
		status int
	}{
		{ReasonNone, 1000, 400},
		{ReasonNormal, 1000, 400},
		{ReasonShutdown, 1001, 503},
		{ReasonPeerClosed, 1000, 400},
		{ReasonProtocol, 1002, 400},
		{ReasonUnsupported, 1003, 400},
		{ReasonBadUTF8, 1007, 400},
		{ReasonPolicy, 1008, 403},
		{ReasonTooBig, 1009, 413},
		{ReasonInternal, 1011, 500},
		{ReasonSlowConsumer, 4001, 400},
		{ReasonIdleTimeout, 4002, 408},
		{ReasonHandshakeTimeout, 4002, 408},
		{ReasonMessageTimeout, 4003, 408},
		{ReasonResync, 4004, 503},
		{ReasonTokenExpired, 4401, 401},
		{ReasonUnauthorized, 4501, 401},
		{ReasonForbidden, 4503, 403},
		{ReasonTokenMissing, 4500, 401},
		{ReasonAuthUnavailable, 4450, 503},
		{ReasonBadCompression, 1007, 400},
	} {
		if got := tc.r.WSCode(); got != tc.code {
			t.Errorf("%v.WSCode() = %d, want %d", tc.r, got, tc.code)
		}
		if got := tc.r.HTTPStatus(); got != tc.status {
			t.Errorf("%v.HTTPStatus() = %d, want %d", tc.r, got, tc.status)
		}
		if _, err := codec.CheckClosePayload(codec.AppendCloseFrame(nil, tc.r.WSCode(), tc.r.String())[2:]); err != nil {
			t.Errorf("%v: close payload not valid on the wire: %v", tc.r, err)
		}
	}
	for _, tc := range []struct {
		err    error
		status int
	}{
		{codec.ErrHeaderTooLarge, 431},
		{codec.ErrTooManyHeaders, 431},
		{codec.ErrURITooLong, 414},
		{codec.ErrVersionNotSupported, 505},
		{codec.ErrUnsupportedTransferEncoding, 501},
		{codec.ErrBodyTooLarge, 413},
		{codec.ErrNotUpgrade, 426},
		{codec.ErrBadWSVersion, 426},
		{codec.ErrBadUpgrade, 400},
		{codec.ErrBadRequest, 400},
		{codec.ErrBadContentLength, 400},
	} {
		if got := HTTPStatusOf(tc.err); got != tc.status {
			t.Errorf("HTTPStatusOf(%v) = %d, want %d", tc.err, got, tc.status)
		}
	}
}

func wantOutput(t *testing.T, hs *harness, want ...string) {
	t.Helper()
	got, err := hs.output()
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	if len(want) == 0 {
		want = nil
	}
	if !slices.Equal(got, want) {
		t.Fatalf("output:\n got %q\nwant %q", got, want)
	}
}

func wantCalls(t *testing.T, hs *harness, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !slices.Equal(hs.h.calls, want) {
		t.Fatalf("calls:\n got %q\nwant %q", hs.h.calls, want)
	}
}

func wantState(t *testing.T, hs *harness, s State, r Reason) {
	t.Helper()
	if hs.c.State() != s || hs.c.Reason() != r {
		t.Fatalf("state %v reason %v, want %v %v", hs.c.State(), hs.c.Reason(), s, r)
	}
}

// TestHeadResponseHasNoContent: a response to HEAD carries no content
// (RFC 9110 §9.3.2); Content-Length may still announce the GET's. With
// the body written, a keep-alive client reads it as the start of the next
// response, and every later response on the connection is misparsed.
// server/routes.go answers HEAD /healthz through Respond.
func TestHeadResponseHasNoContent(t *testing.T) {
	hs := newHarness(Limits{})
	hs.feed(t, str("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n"+getHello))
	want := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n" +
		ok200("GET /hello 0", true)
	if string(hs.env.Out) != want {
		t.Fatalf("output:\n got %q\nwant %q", hs.env.Out, want)
	}
	// Statuses without content are unchanged.
	hs = newHarness(Limits{})
	hs.feed(t, str("HEAD /park HTTP/1.1\r\nHost: h\r\n\r\n"))
	hs.c.Unpark(true)
	hs.c.Respond(&hs.env, 204, "", nil, nil)
	if want := "HTTP/1.1 204 No Content\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"; string(hs.env.Out) != want {
		t.Fatalf("204 to HEAD:\n got %q\nwant %q", hs.env.Out, want)
	}
}
