package conn

import (
	"errors"
	"unicode/utf8"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// feedFrame handles the start of in (RFC 6455 §5): the payload of the data
// frame being streamed, or the next frame header. A data frame's payload is
// consumed as it arrives, unmasked and validated on the way, so a large
// frame never piles up in the owner's input buffer; the header is checked,
// and an oversized frame refused, before any payload is accepted. Control
// frames (at most 125 bytes) are handled once whole.
func (c *Conn) feedFrame(env *Env, h Handler, in []byte) int {
	if c.left > 0 {
		return c.feedPayload(env, h, in)
	}
	hdr, hn, err := codec.ParseFrameHeader(in)
	if errors.Is(err, codec.ErrNeedMore) {
		c.need = int32(frameHeaderSize(in))
		return 0
	}
	if err != nil {
		c.Close(env, ReasonProtocol)
		return len(in)
	}
	// RSV1 marks a compressed message where permessage-deflate was
	// negotiated (RFC 7692 §6); any other reserved bit is an error.
	compressed, ok := c.rsvFrame(hdr)
	if !ok {
		c.Close(env, ReasonProtocol)
		return len(in)
	}
	hdr.Rsv = 0
	// Masking, reserved bits and opcodes, control frame size and
	// fragmentation, continuation order: RFC 6455 §5.1–§5.5.
	if err := ws.CheckHeader(hdr, c.wsState); err != nil {
		c.Close(env, ReasonProtocol)
		return len(in)
	}
	if hdr.OpCode.IsControl() {
		return c.feedControl(env, hdr, hn, in)
	}
	if hdr.OpCode != ws.OpContinuation {
		c.compressed = compressed
	}
	// A compressed message is capped twice: its compressed bytes here,
	// from the header, and what it inflates to when it is complete.
	limit := env.Limits.maxMessage()
	if c.compressed {
		limit = compressedLimit(limit)
	}
	if hdr.Length > int64(limit-int(c.size)) {
		c.Close(env, ReasonTooBig)
		return len(in)
	}
	c.need = 0
	if hdr.OpCode != ws.OpContinuation {
		c.fragOp = hdr.OpCode
		c.utf8.Reset()
		c.messages++
		if total := int64(hn) + hdr.Length; hdr.Fin && int64(len(in)) >= total {
			// A whole message in one frame, all in this read: the common
			// case is unmasked and handed on in place, with no copy.
			payload := in[hn:total]
			ws.Cipher(payload, hdr.Mask, 0)
			if c.compressed {
				c.deliverCompressed(env, h, payload, nil)
				return int(total)
			}
			if hdr.OpCode == ws.OpText && !utf8.Valid(payload) {
				c.Close(env, ReasonBadUTF8)
				return len(in)
			}
			c.deliver(env, h, payload)
			return int(total)
		}
	}
	c.fin, c.mask, c.maskPos, c.left = hdr.Fin, hdr.Mask, 0, int32(hdr.Length) // at most the cap: checked above
	if c.left == 0 {
		c.endFrame(env, h)
	}
	return hn
}

// frameHeaderSize returns the size of the frame header starting in, as far
// as its first two bytes tell (RFC 6455 §5.2): 2 until they are there.
func frameHeaderSize(in []byte) int {
	if len(in) < 2 {
		return 2
	}
	n := 2
	if in[1]&0x80 != 0 {
		n += 4
	}
	switch in[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	return n
}

// feedControl handles a ping, pong or close frame once it is whole.
func (c *Conn) feedControl(env *Env, hdr ws.Header, hn int, in []byte) int {
	total := hn + int(hdr.Length) // at most 14 + 125: CheckHeader bounds it
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
	}
	return total
}

// feedPayload consumes what in holds of the streamed data frame's payload:
// unmasked at its offset in the frame, validated as UTF-8 if the message is
// text, and appended to the message (RFC 6455 §5.3, §8.1). An invalid byte
// fails the connection as soon as it arrives, not when the message ends.
func (c *Conn) feedPayload(env *Env, h Handler, in []byte) int {
	n := len(in)
	if n > int(c.left) {
		n = int(c.left)
	}
	p := in[:n]
	ws.Cipher(p, c.mask, int(c.maskPos))
	c.maskPos = uint8((int(c.maskPos) + n) % 4)
	c.left -= int32(n)
	c.size += int32(n)
	// Compressed bytes say nothing about UTF-8: the inflated message is
	// checked when it is complete.
	if c.fragOp == ws.OpText && !c.compressed && !c.utf8.Write(p) {
		c.Close(env, ReasonBadUTF8)
		return len(in)
	}
	if c.state == StateWebSocket {
		if c.msg == nil {
			c.msg = getMessageBuffer()
		}
		c.msg.B = append(growMessage(c.msg.B, n, int(c.size)+int(c.left)), p...)
	}
	if c.left == 0 {
		c.endFrame(env, h)
	}
	return n
}

// growMessage makes room for n more bytes in b. It doubles the capacity,
// rather than append's gentler growth for large slices, so that a large
// message is copied about once on its way in, but never past end, the
// message's length when the current frame is done: memory stays within
// twice what the peer has sent, whatever length it announced.
func growMessage(b []byte, n, end int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	grown := max(2*cap(b), len(b)+n, 512)
	if end >= len(b)+n {
		grown = min(grown, end)
	}
	return append(make([]byte, 0, grown), b...)
}

// endFrame closes the streamed data frame: the message waits for its next
// fragment, or is complete and handed on.
func (c *Conn) endFrame(env *Env, h Handler) {
	if !c.fin {
		c.wsState = c.wsState.Set(ws.StateFragmented)
		return
	}
	c.wsState = c.wsState.Clear(ws.StateFragmented)
	if c.compressed {
		b := c.msg
		var payload []byte
		if b != nil {
			payload = b.B
		}
		c.msg = nil
		c.deliverCompressed(env, h, payload, b)
		return
	}
	if c.fragOp == ws.OpText && !c.utf8.Valid() {
		// A code point cut off by the end of the message.
		c.Close(env, ReasonBadUTF8)
		return
	}
	var payload []byte
	b := c.msg
	if b != nil {
		payload = b.B
	}
	// Detached first: the Handler may close the connection, which releases
	// what the connection holds, while it still reads payload.
	c.msg = nil
	c.deliver(env, h, payload)
	if b != nil {
		putMessageBuffer(b)
	}
}

// deliver hands a complete data message to the Handler, unless the
// connection is closing.
func (c *Conn) deliver(env *Env, h Handler, payload []byte) {
	c.size = 0
	if c.state == StateWebSocket {
		h.OnMessage(env, c.fragOp, payload)
	}
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

// WriteMessage appends one unfragmented server frame to env.Out. On a
// connection with Deflate, a text or binary payload of DeflateMinBytes or
// more is sent compressed (RFC 7692 §7.2.1), unless that would not make
// the frame smaller; control frames never are (RFC 7692 §6.1).
func (c *Conn) WriteMessage(env *Env, op ws.OpCode, payload []byte) {
	if c.deflate&deflateOut != 0 && !op.IsControl() && len(payload) >= DeflateMinBytes {
		env.Out = appendDeflateFrame(env.Out, op, payload)
		return
	}
	env.Out = codec.AppendFrame(env.Out, op, payload)
}
