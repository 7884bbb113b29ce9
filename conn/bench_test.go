package conn

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// wsConn returns a connection and its Env in StateWebSocket, with no
// output pending.
func wsConn() (*Conn, *Env) {
	c, env := &Conn{}, &Env{Out: make([]byte, 0, 4096)}
	c.Upgrade(env, []byte("dGhlIHNhbXBsZSBub25jZQ=="))
	env.Out = env.Out[:0]
	return c, env
}

// BenchmarkFeedTextFrame feeds one 128-byte masked text frame to a no-op
// handler. Each iteration copies the frame into the read buffer first, as
// a socket read would, because Feed unmasks in place.
func BenchmarkFeedTextFrame(b *testing.B) {
	c, env := wsConn()
	msg := text(strings.Repeat("0123456789abcdef", 8))
	buf := make([]byte, len(msg))
	var h Handler = nopHandler{}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		copy(buf, msg)
		if n := c.Feed(env, h, buf); n != len(msg) {
			b.Fatalf("consumed %d", n)
		}
		env.Out = env.Out[:0]
	}
	if c.State() != StateWebSocket {
		b.Fatalf("state %v", c.State())
	}
}

// BenchmarkFeedPing is the ping -> pong path.
func BenchmarkFeedPing(b *testing.B) {
	c, env := wsConn()
	msg := frame(true, 0, ws.OpPing, "heartbeat")
	buf := make([]byte, len(msg))
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		copy(buf, msg)
		c.Feed(env, nopHandler{}, buf)
		env.Out = env.Out[:0]
	}
}
