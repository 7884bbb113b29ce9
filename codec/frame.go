package codec

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// RFC 6455 §5.2 base framing:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-------+-+-------------+-------------------------------+
//	|F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//	|I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//	|N|V|V|V|       |S|             |   (if payload len==126/127)   |
//	| |1|2|3|       |K|             |                               |
//	+-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//	|     Extended payload length continued, if payload len == 127  |
//	+ - - - - - - - - - - - - - - - +-------------------------------+
//	|                               |Masking-key, if MASK set to 1  |
//	+-------------------------------+-------------------------------+
const (
	bitFin  = 0x80
	bitMask = 0x80
	len16   = 126 // 7-bit length value announcing a 16-bit length
	len64   = 127 // 7-bit length value announcing a 64-bit length
)

// maxCloseReason is the longest close reason that fits the 125-byte
// control frame payload after the 2-byte code (RFC 6455 §5.5).
const maxCloseReason = 125 - 2

// ParseFrameHeader decodes one frame header from the start of b. n is the
// header size (2..14).
// ErrNeedMore when b is too short; ErrBadFrame when a 64-bit length has its
// most significant bit set (RFC 6455 §5.2). Lengths that are not minimally
// encoded are accepted, as the RFC allows and as gobwas/ws does.
// It does not check semantics: callers use ws.CheckHeader.
func ParseFrameHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, ErrNeedMore
	}
	n = 2
	if b[1]&bitMask != 0 {
		n += 4
	}
	l7 := b[1] & 0x7f
	switch l7 {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if len(b) < n {
		return ws.Header{}, 0, ErrNeedMore
	}
	h.Fin = b[0]&bitFin != 0
	h.Rsv = (b[0] >> 4) & 0x07
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&bitMask != 0
	p := 2
	switch l7 {
	case len16:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		p = 4
	case len64:
		v := binary.BigEndian.Uint64(b[2:10])
		// The length is a 63-bit unsigned value; a set top bit would
		// turn negative in int64 and has no meaning (RFC 6455 §5.2).
		if v>>63 != 0 {
			return ws.Header{}, 0, ErrBadFrame
		}
		h.Length = int64(v)
		p = 10
	default:
		h.Length = int64(l7)
	}
	if h.Masked {
		copy(h.Mask[:], b[p:p+4])
	}
	return h, n, nil
}

// AppendFrameHeader appends the wire form of h to dst: the exact inverse of
// ParseFrameHeader, including the mask key when h.Masked, using the
// shortest length encoding. A negative h.Length is written as 0, and only
// the low 3 bits of h.Rsv and low 4 bits of h.OpCode are used.
func AppendFrameHeader(dst []byte, h ws.Header) []byte {
	b0 := (h.Rsv&0x07)<<4 | byte(h.OpCode)&0x0f
	if h.Fin {
		b0 |= bitFin
	}
	var b1 byte
	if h.Masked {
		b1 = bitMask
	}
	length := h.Length
	if length < 0 {
		length = 0
	}
	switch {
	case length < len16:
		dst = append(dst, b0, b1|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, b1|len16)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, b1|len64)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends one unmasked FIN frame with opcode op and payload:
// the server-to-client form (RFC 6455 §5.1 forbids masking it).
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst = AppendFrameHeader(dst, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))})
	return append(dst, payload...)
}

// FrameSize returns the header plus payload size of an unmasked server
// frame carrying payloadLen bytes; a negative payloadLen counts as 0.
func FrameSize(payloadLen int) int {
	switch {
	case payloadLen < 0:
		return 2
	case payloadLen < len16:
		return 2 + payloadLen
	case payloadLen <= 0xffff:
		return 4 + payloadLen
	}
	return 10 + payloadLen
}

// AppendCloseFrame appends an unmasked close frame with code and reason;
// the reason is truncated to fit 125 bytes total payload at a UTF-8
// boundary. code 0 means an empty payload (RFC 6455 §5.5.1), and the
// reason is then dropped, because a reason without a code is not allowed.
func AppendCloseFrame(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return append(dst, bitFin|byte(ws.OpClose), 0)
	}
	if len(reason) > maxCloseReason {
		// Cut before the rune that straddles the limit so a valid UTF-8
		// reason stays valid and the peer does not fail with 1007.
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	dst = append(dst, bitFin|byte(ws.OpClose), byte(2+len(reason)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// CheckClosePayload validates a received (already unmasked) close payload
// (RFC 6455 §5.5.1, §7.4): empty -> (ws.StatusNoStatusRcvd, nil); 1 byte ->
// ErrBadClosePayload; a code not allowed on the wire -> ErrBadClosePayload;
// a reason that is not valid UTF-8 -> ErrCloseReasonUTF8. When the payload
// has at least 2 bytes, code is the code it carries, even on error.
//
// Allowed codes are 1000-1003 and 1007-1011 (RFC 6455 §7.4.1), 1012-1014
// (registered with IANA since), and 3000-4999 (§7.4.2). Below 1000, 1004
// to 1006, 1015, other codes up to 2999 and 5000 and above are rejected:
// 1005, 1006 and 1015 must never be sent, and the others are unassigned.
// ws.CheckCloseFrameData is not used because it rejects 1012-1014.
func CheckClosePayload(p []byte) (code ws.StatusCode, err error) {
	switch len(p) {
	case 0:
		return ws.StatusNoStatusRcvd, nil
	case 1:
		return 0, ErrBadClosePayload
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !closeCodeAllowed(code) {
		return code, ErrBadClosePayload
	}
	if !utf8.Valid(p[2:]) {
		return code, ErrCloseReasonUTF8
	}
	return code, nil
}

// closeCodeAllowed reports whether code may appear in a close frame.
func closeCodeAllowed(code ws.StatusCode) bool {
	switch {
	case code.IsApplicationSpec(), code.IsPrivateSpec():
		return true
	case code >= 1012 && code <= 1014:
		return true
	case code.IsProtocolSpec():
		return code.IsProtocolDefined() && !code.IsProtocolReserved()
	}
	return false
}
