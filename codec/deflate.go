package codec

import (
	"compress/flate"
	"sync"

	"github.com/gobwas/ws"
)

// RsvDeflate is the ws.Header.Rsv value of the first frame of a compressed
// message: RSV1, the "Per-Message Compressed" bit of RFC 7692 §6.
const RsvDeflate byte = 0x4

// deflateTail is what a sync flush ends with and RFC 7692 §7.2.1 removes
// from the end of a compressed message: the LEN and NLEN of an empty
// stored block.
const deflateTail = "\x00\x00\xff\xff"

// DeflateLevel is the compress/flate level of AppendDeflate. BestSpeed is
// chosen for its reset: the other levels clear 640 KiB of hash chains per
// Reset, which would cost more than compressing a chat message, while
// BestSpeed's reset is a few stores. The window is always the full 32 KiB
// (server_max_window_bits=15).
const DeflateLevel = flate.BestSpeed

// deflater is a pooled compressor. A flate.Writer is about 1 MiB, most of
// it tables that BestSpeed never touches, so writers are shared through a
// pool by every connection and message instead of kept per connection.
type deflater struct {
	w   *flate.Writer
	out appendWriter
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	// The level is a valid constant: NewWriter cannot fail.
	d.w, _ = flate.NewWriter(&d.out, DeflateLevel)
	return d
}}

// AppendDeflate appends payload compressed as one permessage-deflate
// message without context takeover (RFC 7692 §7.2.1): raw DEFLATE blocks
// of payload alone, ended by a sync flush whose final 0x00 0x00 0xff 0xff
// is removed. The result depends only on payload, so one compression
// serves every connection that negotiated the extension (the server
// always answers server_no_context_takeover). It allocates only when dst
// must grow.
func AppendDeflate(dst, payload []byte) []byte {
	d := deflaters.Get().(*deflater)
	d.out.b = dst
	d.w.Reset(&d.out)
	// Writing to an appendWriter cannot fail, so neither can these.
	_, _ = d.w.Write(payload)
	_ = d.w.Flush()
	dst = d.out.b
	d.out.b = nil // the pool must not keep the caller's buffer
	deflaters.Put(d)
	// Flush always ends with an empty stored block; its LEN and NLEN
	// are the four bytes RFC 7692 §7.2.1 step 3 removes.
	return dst[:len(dst)-len(deflateTail)]
}

// AppendDeflateFrame appends one unmasked FIN frame with opcode op (text
// or binary), RSV1 set and payload compressed by AppendDeflate: the
// server's form of a compressed message (RFC 7692 §6). The frame bytes
// can be shared by every connection with Deflate accepted at full window.
func AppendDeflateFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	// Compress after room for the longest header, then write the real
	// header just before the data and move it down: one pass, no scratch.
	const room = 10 // RFC 6455 §5.2: 2 bytes + 8 of extended length, unmasked
	start := len(dst)
	dst = append(dst, make([]byte, room)...)
	dst = AppendDeflate(dst, payload)
	n := len(dst) - start - room
	var hdr [room]byte
	h := AppendFrameHeader(hdr[:0], ws.Header{Fin: true, Rsv: RsvDeflate, OpCode: op, Length: int64(n)})
	copy(dst[start+len(h):], dst[start+room:])
	copy(dst[start:], h)
	return dst[:start+len(h)+n]
}
