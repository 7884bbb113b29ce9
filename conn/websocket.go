package conn

import (
	"errors"
	"unicode/utf8"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// feedFrame handles one WebSocket frame from the start of in (RFC 6455 §5).
// It returns 0 until the whole frame is buffered; the header is checked, and
// an oversized frame refused, before its payload is waited for.
func (c *Conn) feedFrame(env *Env, h Handler, in []byte) int {
	hdr, hn, err := codec.ParseFrameHeader(in)
	if errors.Is(err, codec.ErrNeedMore) {
		return 0
	}
	if err != nil {
		c.Close(env, ReasonProtocol)
		return len(in)
	}
	// Masking, reserved bits and opcodes, control frame size and
	// fragmentation, continuation order: RFC 6455 §5.1–§5.5.
	if err := ws.CheckHeader(hdr, c.wsState); err != nil {
		c.Close(env, ReasonProtocol)
		return len(in)
	}
	max := int64(env.Limits.maxMessage())
	if hdr.OpCode.IsData() || hdr.OpCode == ws.OpContinuation {
		buffered := int64(0)
		if c.frag != nil {
			buffered = int64(c.frag.Len())
		}
		if hdr.Length > max-buffered {
			c.Close(env, ReasonTooBig)
			return len(in)
		}
	}
	total := hn + int(hdr.Length)
	if len(in) < total {
		c.need = int32(total)
		return 0
	}
	c.need = 0
	payload := in[hn:total]
	ws.Cipher(payload, hdr.Mask, 0)

	switch hdr.OpCode {
	case ws.OpPing:
		if c.state == StateWebSocket {
			env.Out = codec.AppendFrame(env.Out, ws.OpPong, payload)
		}
	case ws.OpPong:
		// Liveness is tracked by the owner from any inbound traffic.
	case ws.OpClose:
		c.onClose(env, payload)
	default:
		c.onData(env, h, hdr, payload)
	}
	return total
}

// onClose answers a close frame (RFC 6455 §5.5.1): a valid one is echoed
// with its status code, an invalid one fails the connection.
func (c *Conn) onClose(env *Env, payload []byte) {
	code, err := codec.CheckClosePayload(payload)
	switch {
	case errors.Is(err, codec.ErrCloseReasonUTF8):
		c.Close(env, ReasonBadUTF8)
		return
	case err != nil:
		c.Close(env, ReasonProtocol)
		return
	}
	if c.state == StateWebSocket {
		if code == ws.StatusNoStatusRcvd {
			env.Out = codec.AppendCloseFrame(env.Out, 0, "")
		} else {
			env.Out = codec.AppendCloseFrame(env.Out, code, "")
		}
	}
	if c.reason == ReasonNone {
		c.reason = ReasonNormal
	}
	c.state = StateClosed
	c.release()
}

// onData reassembles data frames into messages and hands complete ones on.
func (c *Conn) onData(env *Env, h Handler, hdr ws.Header, payload []byte) {
	if hdr.OpCode != ws.OpContinuation {
		c.fragOp = hdr.OpCode
	}
	msg := payload
	if !hdr.Fin || c.frag != nil {
		if c.frag == nil {
			c.frag = bytebufferpool.Get()
		}
		c.frag.B = append(c.frag.B, payload...)
		if !hdr.Fin {
			c.wsState = c.wsState.Set(ws.StateFragmented)
			return
		}
		msg = c.frag.B
	}
	c.wsState = c.wsState.Clear(ws.StateFragmented)
	op := c.fragOp
	if op == ws.OpText && !utf8.Valid(msg) {
		c.Close(env, ReasonBadUTF8)
		return
	}
	if c.state == StateWebSocket {
		h.OnMessage(env, op, msg)
	}
	if c.frag != nil {
		bytebufferpool.Put(c.frag)
		c.frag = nil
	}
}

// WriteMessage appends one unfragmented server frame to env.Out.
func (c *Conn) WriteMessage(env *Env, op ws.OpCode, payload []byte) {
	env.Out = codec.AppendFrame(env.Out, op, payload)
}
