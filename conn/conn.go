package conn

import (
	"errors"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// State is where a connection stands in its life.
//
// Transitions:
//
//	StateHead      -> StateHead       a request answered, keep-alive
//	StateHead      -> StateWebSocket  Handler called Upgrade
//	StateHead      -> StateParked     Handler called Park (long-poll, stream)
//	StateParked    -> StateHead       Unpark: the parked response is complete
//	StateWebSocket -> StateClosing    the server sent a close frame and awaits the reply
//	any            -> StateClosed     the exchange is over: flush and close the socket
type State uint8

// Connection states.
const (
	StateHead State = iota
	StateWebSocket
	StateParked
	StateClosing
	StateClosed
)

var stateNames = [...]string{"head", "websocket", "parked", "closing", "closed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Limits bound what one connection may make the server buffer.
type Limits struct {
	// Head limits the HTTP request head (zero fields take codec defaults).
	Head codec.Limits
	// MaxBodyBytes caps a request body; zero means 64 KiB.
	MaxBodyBytes int
	// MaxMessageBytes caps a WebSocket message after reassembly; zero means
	// 64 KiB, and more than 1 GiB (maxMessageCap) means 1 GiB.
	MaxMessageBytes int
}

func (l *Limits) maxBody() int {
	if l.MaxBodyBytes > 0 {
		return l.MaxBodyBytes
	}
	return 64 << 10
}

func (l *Limits) maxMessage() int {
	if l.MaxMessageBytes > 0 {
		return min(l.MaxMessageBytes, maxMessageCap)
	}
	return 64 << 10
}

// maxMessageCap bounds MaxMessageBytes, so that a message's size and a
// frame's remaining payload, compressed (compressedLimit) or not, fit an
// int32.
const maxMessageCap = 1 << 30

// Env is an event loop's scratch space. The owner resets Out, feeds one
// connection, then writes Out to that connection's socket. Nothing else in
// it holds memory between Feeds: buffers that outlive a read belong to the
// connection that needs them.
type Env struct {
	// Out collects the bytes to send to the connection being fed.
	Out []byte
	// Req is the request being handled; it aliases the fed bytes (or, for
	// a chunked request, the connection's copy of its head) and is valid
	// only during the Handler call.
	Req codec.Request
	// Limits apply to every connection of the loop.
	Limits Limits
}

// Handler receives what a connection decodes. The server implements it.
type Handler interface {
	// OnRequest handles one complete HTTP request that is not a WebSocket
	// frame: it writes a response (Conn.Respond), upgrades (Conn.Upgrade)
	// or parks the connection (Conn.Park). req and body are valid only
	// during the call.
	OnRequest(env *Env, req *codec.Request, body []byte)
	// OnMessage handles one complete WebSocket data message. op is
	// ws.OpText or ws.OpBinary; payload is valid only during the call.
	OnMessage(env *Env, op ws.OpCode, payload []byte)
}

// Conn is the protocol state of one client connection. The zero value is a
// fresh connection in StateHead. It is small on purpose: an idle connection
// holds no buffers, and the ones a message or request needs while it
// arrives come from a pool and go back when it is handed on.
type Conn struct {
	state  State
	reason Reason
	// wsState carries the fragmentation flag between frames (ws.CheckHeader).
	wsState ws.State
	// fragOp is the opcode of the data message being received.
	fragOp ws.OpCode
	// fin says the data frame being streamed ends its message.
	fin bool
	// maskPos is where in the mask the streamed frame's next byte falls.
	maskPos uint8
	// utf8 validates a text message as its bytes arrive (RFC 6455 §8.1).
	utf8 codec.UTF8Validator
	// mask is the streamed data frame's masking key.
	mask [4]byte
	// deflate is what permessage-deflate allows on this connection; it
	// fills padding, so a deflate connection is no larger than another.
	deflate deflateMode
	// need is how many buffered bytes the next step needs; the owner may
	// skip Feed until that many are available.
	need int32
	// messages counts the data messages and chunked requests begun.
	messages uint32
	// left is the streamed data frame's payload still to come; 0 between
	// frames. size is the data message's length so far, for
	// MaxMessageBytes. A frame that would take its message past the cap
	// (at most maxMessageCap, or compressedLimit of it for a compressed
	// message: about 1.2 GiB) is refused before it streams, so both fit
	// 32 bits, and a Conn fits 56 bytes (with 64-bit ones, 64): its
	// session then fits a smaller size class.
	left int32
	size int32
	// compressed says the data message being received has RSV1 set: its
	// frames are collected whole and inflated at its end.
	compressed bool
	// msg assembles a data message that spans frames or reads; nil
	// otherwise, and always nil in StateClosing, where nothing is
	// delivered.
	msg *bytebufferpool.ByteBuffer
	// head follows a request head that did not arrive whole; nil
	// otherwise.
	head *codec.HeadScanner
	// chunk is the chunked request being received; nil otherwise.
	chunk *chunkedBody
}

// State returns the connection's state.
func (c *Conn) State() State { return c.state }

// Reason returns why the connection is closing, or ReasonNone.
func (c *Conn) Reason() Reason { return c.reason }

// Need returns the number of buffered bytes the next Feed needs to make
// progress, or 0 when any amount may help. It is non-zero only while a
// WebSocket frame header or a control frame (at most 131 bytes) is
// incomplete, or a Content-Length body (at most Limits.MaxBodyBytes) is
// still arriving; data frame payloads and chunked bodies are consumed as
// they arrive.
func (c *Conn) Need() int { return int(c.need) }

// InMessage reports whether a message is partly received and held by the
// connection: a WebSocket data message whose first frame header has been
// read and whose last frame has not ended (payload bytes still to come, or
// fragments collected), or a chunked request body being decoded. The
// owner bounds how long that may last (a client trickling a large message
// one byte at a time would otherwise hold the connection forever): after
// each Feed, it arms its deadline when InMessage is true and Messages has
// changed since it last armed, and cancels it when InMessage is false.
// Bytes of an incomplete request head or frame header are not held here;
// they are still in the owner's input buffer.
func (c *Conn) InMessage() bool {
	switch c.state {
	case StateWebSocket, StateClosing:
		return c.left > 0 || c.wsState.Fragmented()
	case StateHead:
		return c.chunk != nil
	}
	return false
}

// Messages returns how many WebSocket data messages and chunked requests
// the connection has begun, wrapping at 2^32. With InMessage it tells the
// owner whether the message in progress is the one its deadline is for.
func (c *Conn) Messages() uint32 { return c.messages }

// Feed consumes what it can from in, writing replies to env.Out and
// calling h, and returns how many bytes it consumed: whole requests and
// control frames, and as much of a data frame's payload or a chunked body
// as has arrived (in is unmasked in place). Bytes it did not consume, an
// incomplete head, frame header, control frame or Content-Length body,
// must be kept and fed again with more data appended.
func (c *Conn) Feed(env *Env, h Handler, in []byte) int {
	consumed := 0
	for consumed < len(in) {
		var n int
		switch c.state {
		case StateHead:
			n = c.feedHead(env, h, in[consumed:])
		case StateWebSocket, StateClosing:
			n = c.feedFrame(env, h, in[consumed:])
		case StateClosed:
			// Nothing more will be answered; drop what the peer still sends.
			return len(in)
		default:
			// Parked: pipelined requests wait until the parked one is done.
			return consumed
		}
		if n == 0 {
			break
		}
		consumed += n
	}
	return consumed
}

// feedHead parses one request (head and body) and dispatches it.
func (c *Conn) feedHead(env *Env, h Handler, in []byte) int {
	if c.chunk != nil {
		return c.feedChunked(env, h, in)
	}
	if c.head != nil {
		// A head arriving in pieces is parsed once, when the scan that
		// follows it says ParseRequest has its answer, not on every read.
		if !c.head.Scan(in, env.Limits.Head) {
			return 0
		}
		putHeadScanner(c.head)
		c.head = nil
	}
	req := &env.Req
	n, err := codec.ParseRequest(in, req, env.Limits.Head)
	if errors.Is(err, codec.ErrNeedMore) {
		c.need = 0
		if c.head == nil {
			c.head = getHeadScanner()
			c.head.Scan(in, env.Limits.Head)
		}
		return 0
	}
	if err != nil {
		c.Reject(env, HTTPStatusOf(err), nil)
		return len(in)
	}
	var body []byte
	switch {
	case req.Chunked:
		// A chunked body announces no length, so it cannot be waited for
		// whole (and a Need() past its end would stall the request until
		// a timeout). Its head is copied out and its bytes are decoded as
		// they come, so each byte is examined once.
		ck := getChunkedBody()
		ck.head = append(ck.head[:0], in[:n]...)
		ck.dec.Reset(env.Limits.maxBody())
		c.chunk = ck
		c.messages++
		c.need = 0
		return n + c.feedChunked(env, h, in[n:])
	case req.ContentLength > 0:
		if req.ContentLength > int64(env.Limits.maxBody()) {
			c.Reject(env, 413, nil)
			return len(in)
		}
		total := n + int(req.ContentLength)
		if len(in) < total {
			c.need = int32(total)
			return 0
		}
		body = in[n:total]
		n = total
	}
	c.dispatch(env, h, req, body)
	return n
}

// feedChunked decodes the next bytes of a chunked body and dispatches the
// request once the body is complete.
func (c *Conn) feedChunked(env *Env, h Handler, in []byte) int {
	ck := c.chunk
	n, body, done, err := ck.dec.Decode(ck.body, in)
	ck.body = body
	if err != nil {
		c.Reject(env, HTTPStatusOf(err), nil)
		return len(in)
	}
	if !done {
		return n
	}
	c.chunk = nil
	defer putChunkedBody(ck)
	// The head passed these checks when it arrived; parsing the copy again
	// gives the same Request, now aliasing bytes that outlive those reads.
	if _, err := codec.ParseRequest(ck.head, &env.Req, env.Limits.Head); err != nil {
		c.Reject(env, HTTPStatusOf(err), nil)
		return len(in)
	}
	c.dispatch(env, h, &env.Req, ck.body)
	return n
}

// dispatch hands a complete request to the Handler.
func (c *Conn) dispatch(env *Env, h Handler, req *codec.Request, body []byte) {
	c.need = 0
	h.OnRequest(env, req, body)
	if c.state == StateHead && !req.KeepAlive {
		c.state, c.reason = StateClosed, ReasonNormal
	}
}

// Respond writes a complete HTTP response to the current request. extra
// holds additional header lines, each ending in CRLF.
func (c *Conn) Respond(env *Env, status int, contentType string, extra, body []byte) {
	keepAlive := env.Req.KeepAlive && c.state == StateHead
	if keepAlive && env.Req.Minor == 0 {
		// An HTTP/1.0 client asked to keep the connection (RFC 9112
		// §9.3): say it is kept, or it waits for a close that never comes.
		extra = append([]byte(KeepAlive10), extra...)
	}
	if string(env.Req.Method) == "HEAD" {
		// RFC 9110 §9.3.2: the GET's headers, no content.
		env.Out = codec.AppendResponseHead(env.Out, status, contentType, extra, len(body), keepAlive)
		return
	}
	env.Out = codec.AppendResponse(env.Out, status, contentType, extra, body, keepAlive)
}

// KeepAlive10 is the header line that tells an HTTP/1.0 client its
// connection is kept (HTTP/1.1 keeps connections unless told otherwise).
const KeepAlive10 = "Connection: keep-alive\r\n"

// Reject answers the current request with an error status and a short
// plain-text body, then closes the connection.
func (c *Conn) Reject(env *Env, status int, extra []byte) {
	body := codec.StatusText(status) + "\n"
	env.Out = codec.AppendResponse(env.Out, status, "text/plain; charset=utf-8", extra, []byte(body), false)
	c.state = StateClosed
	if c.reason == ReasonNone {
		c.reason = reasonForStatus(status)
	}
	c.release()
}

// Upgrade completes a WebSocket opening handshake for the current request
// (already validated with codec.CheckUpgrade) and switches to StateWebSocket.
// Bytes after the request in the same read are kept and parsed as frames.
func (c *Conn) Upgrade(env *Env, key []byte) {
	env.Out = codec.AppendUpgradeResponse(env.Out, key)
	c.state = StateWebSocket
	c.wsState = ws.StateServerSide
}

// UpgradeDeflate is Upgrade accepting permessage-deflate as p, the result
// of codec.NegotiateDeflate on the current request: the 101 carries the
// Sec-WebSocket-Extensions answer, the connection accepts compressed
// messages (RSV1) from the client, and, when p.FullWindow(), Deflate
// reports true and WriteMessage compresses what is worth compressing.
func (c *Conn) UpgradeDeflate(env *Env, key []byte, p codec.DeflateParams) {
	env.Out = codec.AppendUpgradeResponseDeflate(env.Out, key, p)
	c.state = StateWebSocket
	c.wsState = ws.StateServerSide
	c.deflate = deflateIn
	if p.FullWindow() {
		c.deflate |= deflateOut
	}
}

// Park suspends request processing: the Handler answers later, from
// another event (a message, a timer), and calls Unpark when done.
func (c *Conn) Park() { c.state = StateParked }

// Unpark resumes reading requests after a parked one was answered. When the
// parked request was not keep-alive, the connection closes instead.
func (c *Conn) Unpark(keepAlive bool) {
	if c.state != StateParked {
		return
	}
	if keepAlive {
		c.state = StateHead
	} else {
		c.state, c.reason = StateClosed, ReasonNormal
	}
}

// Close ends the connection for reason r. A WebSocket gets a close frame:
// after a normal or shutdown close it waits in StateClosing for the peer's
// reply (the owner bounds the wait with a timer); after a failure it closes
// at once (RFC 6455 §7.1.7). An HTTP connection just closes.
func (c *Conn) Close(env *Env, r Reason) {
	switch c.state {
	case StateClosed:
		return
	case StateClosing:
		c.state = StateClosed
		c.release()
		return
	case StateWebSocket:
		env.Out = codec.AppendCloseFrame(env.Out, r.WSCode(), r.String())
		c.reason = r
		if r == ReasonNormal || r == ReasonShutdown {
			// Frames are still parsed until the peer's close arrives, but
			// nothing more is delivered, so nothing more is kept.
			c.state = StateClosing
			c.releaseMessage()
			return
		}
	default:
		c.reason = r
	}
	c.state = StateClosed
	c.release()
}

// Abort ends the connection for reason r without writing anything: the
// owner closes the socket at once (a timeout, a fault). The reason is kept
// if one was already set.
func (c *Conn) Abort(r Reason) {
	if c.reason == ReasonNone {
		c.reason = r
	}
	c.state = StateClosed
	c.release()
}

// Closed marks the connection closed by the peer or the transport,
// releasing any buffer it holds. The owner calls it from its close event.
func (c *Conn) Closed() {
	if c.reason == ReasonNone {
		c.reason = ReasonPeerClosed
	}
	c.state = StateClosed
	c.release()
}

// release returns every buffer the connection holds, once it is closed.
func (c *Conn) release() {
	c.need = 0 // nothing more will be parsed
	c.releaseMessage()
	if c.chunk != nil {
		putChunkedBody(c.chunk)
		c.chunk = nil
	}
	if c.head != nil {
		putHeadScanner(c.head)
		c.head = nil
	}
}

func (c *Conn) releaseMessage() {
	if c.msg != nil {
		putMessageBuffer(c.msg)
		c.msg = nil
	}
}
