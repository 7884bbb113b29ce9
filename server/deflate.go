package server

import (
	"sync"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/gobwas/ws"
)

// permessage-deflate (RFC 7692) in the fan-out. A connection that
// negotiated it gets a message's compressed frame, built once per message
// and shared like the plain one: the server always answers
// server_no_context_takeover, so the compressed bytes depend on the
// message alone and N deflate subscribers cost one compression, not N.
// Replies to one connection (sub, ok, err, presence) are compressed per
// connection by conn.WriteMessage.

// Compression is whether WebSocket connections may use permessage-deflate.
type Compression string

const (
	// CompressionOff declines every offer: frames go plain. The default,
	// because browsers offer the extension on every connection, so turning
	// it on changes every browser's traffic at once, and it trades CPU
	// (a compression per message, an inflate per compressed client
	// message) for bytes, which pays on a metered or slow last mile and
	// on payloads of a few hundred bytes or more, not on a LAN or for
	// short chat lines.
	CompressionOff Compression = "off"
	// CompressionOn accepts the first acceptable offer of a WebSocket
	// upgrade (/ws and /echo), always without context takeover.
	CompressionOn Compression = "on"
)

// negotiateDeflate returns the permessage-deflate parameters to accept for
// req, and false when the node has compression off or the client offers
// nothing acceptable (codec.NegotiateDeflate).
func (srv *Server) negotiateDeflate(req *codec.Request) (codec.DeflateParams, bool) {
	if srv.conf().Compression != CompressionOn {
		return codec.DeflateParams{}, false
	}
	return codec.NegotiateDeflate(req)
}

// deflated is a message's compressed frame, built by the first loop that
// needs it.
//
// sync.Once rather than lazy's "either may win": every loop delivers the
// same message at about the same moment (one mailbox each, filled by one
// publication), so a race would be the common case and each losing loop
// would pay a whole compression, the very cost sharing saves. A loop that
// finds another one building waits for it, which costs it no more than
// compressing itself would have.
type deflated struct {
	once  sync.Once
	frame []byte
}

// wsFrame returns the WebSocket frame of m for a connection: the shared
// compressed frame when it takes compressed messages (conn.Deflate) and
// compressing is worth it, else the shared plain frame. Any loop; the
// bytes are read-only.
func (m *message) wsFrame(deflate bool) []byte {
	if !deflate || len(m.json) < conn.DeflateMinBytes {
		return m.frame
	}
	d := m.deflated.Load()
	if d == nil {
		// A deflated of its own only on deflate nodes: a message on
		// another node carries one nil pointer.
		d = new(deflated)
		if !m.deflated.CompareAndSwap(nil, d) {
			d = m.deflated.Load()
		}
	}
	d.once.Do(func() { d.frame = m.appendDeflateFrame() })
	return d.frame
}

// appendDeflateFrame builds m's compressed frame, or returns the plain one
// when compressing does not make it smaller (incompressible data: RFC 7692
// §6 lets any message go uncompressed).
func (m *message) appendDeflateFrame() []byte {
	// Compressed JSON is rarely more than its size; grow only past it.
	z := codec.AppendDeflateFrame(make([]byte, 0, len(m.frame)), ws.OpText, m.json)
	if len(z) >= len(m.frame) {
		return m.frame
	}
	return z
}
