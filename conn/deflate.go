package conn

import (
	"errors"
	"unicode/utf8"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// permessage-deflate (RFC 7692) on a connection. The server always answers
// server_no_context_takeover and client_no_context_takeover, so each
// message is compressed and inflated on its own: a connection holds no
// compressor or inflater, and no window, between messages. A compressed
// message is collected whole (its compressed bytes, capped like any
// message) and inflated at its end into a pooled buffer, with a pooled
// inflater taken for that call only.

// deflateMode is what permessage-deflate allows on a connection.
type deflateMode uint8

const (
	// deflateIn: the extension was negotiated, so the first frame of a
	// data message may have RSV1 set (RFC 7692 §6).
	deflateIn deflateMode = 1 << iota
	// deflateOut: the client allows the full window, so messages to it
	// may be compressed, and the shared compressed frames sent to it.
	deflateOut
)

// DeflateMinBytes is the shortest payload WriteMessage compresses. Below
// it, DEFLATE's block header and Huffman tables outweigh what a chat
// message saves; the server's shared broadcast frames follow the same rule.
const DeflateMinBytes = 64

// Deflate reports whether the connection takes compressed messages from
// the server: permessage-deflate was accepted with the full window
// (UpgradeDeflate), so a frame from codec.AppendDeflateFrame, built once
// per message, can be written to it as is.
func (c *Conn) Deflate() bool { return c.deflate&deflateOut != 0 }

// compressedLimit caps the compressed bytes of a message whose inflated
// size is capped at limit. Incompressible data grows by about 5 bytes per
// stored block, and a client that compresses each fragment with its own
// sync flush (python websockets does) adds about 10 bytes per fragment: a
// 64,000-byte message in 256-byte fragments is 2.5 KB over its size. The
// allowance of 1/8 lets such messages through down to fragments of about
// 80 bytes, while a stream of empty blocks, which inflates to nothing,
// still cannot grow past 1.125 times the cap.
func compressedLimit(limit int) int { return limit + limit/8 + 256 }

// rsvFrame checks the reserved bits of a frame header on a connection
// where deflate may be negotiated (RFC 7692 §6): RSV1 only, only when the
// extension was negotiated, only on the first frame of a data message.
// It reports whether the frame starts a compressed message, and false
// with ok false for a protocol error (1002).
func (c *Conn) rsvFrame(hdr ws.Header) (compressed, ok bool) {
	switch {
	case hdr.Rsv == 0:
		return false, true
	case hdr.Rsv != codec.RsvDeflate, c.deflate&deflateIn == 0:
		return false, false
	case hdr.OpCode.IsControl(), hdr.OpCode == ws.OpContinuation:
		// "An endpoint MUST NOT set the Per-Message Compressed bit of
		// control frames and non-first fragments of a data message."
		return false, false
	}
	return true, true
}

// deliverCompressed inflates a complete compressed message, capped at the
// message limit (1009 past it, 1007 for bad data), checks a text message's
// UTF-8 (1007) and hands it to the Handler. held, when not nil, is the
// buffer compressed lives in; it goes back to the pool once inflated,
// before the Handler runs.
func (c *Conn) deliverCompressed(env *Env, h Handler, compressed []byte, held *bytebufferpool.ByteBuffer) {
	if c.state != StateWebSocket {
		// Closing: nothing is delivered, so nothing is inflated.
		putHeld(held)
		c.deliver(env, h, nil)
		return
	}
	out := getMessageBuffer()
	var err error
	out.B, err = codec.AppendInflate(out.B[:0], compressed, env.Limits.maxMessage())
	putHeld(held)
	switch {
	case errors.Is(err, codec.ErrInflateTooLarge):
		c.Close(env, ReasonTooBig)
	case err != nil:
		c.Close(env, ReasonBadCompression)
	case c.fragOp == ws.OpText && !utf8.Valid(out.B):
		c.Close(env, ReasonBadUTF8)
	default:
		c.deliver(env, h, out.B)
	}
	putMessageBuffer(out)
}

func putHeld(b *bytebufferpool.ByteBuffer) {
	if b != nil {
		putMessageBuffer(b)
	}
}

// appendDeflateFrame appends payload as one compressed frame, or as a plain
// one when compressing did not make it smaller.
func appendDeflateFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	start := len(dst)
	dst = codec.AppendDeflateFrame(dst, op, payload)
	if len(dst)-start >= codec.FrameSize(len(payload)) {
		dst = codec.AppendFrame(dst[:start], op, payload)
	}
	return dst
}
