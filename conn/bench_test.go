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

// BenchmarkFeedChunked feeds a chunked POST with a 4 KiB body one byte per
// read, as a slow client sends it.
func BenchmarkFeedChunked(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(chunkHead)
	for range 64 {
		sb.WriteString("40\r\n" + strings.Repeat("x", 64) + "\r\n")
	}
	sb.WriteString("0\r\n\r\n")
	in := []byte(sb.String())
	buf := make([]byte, 0, len(in))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c, env := &Conn{}, &Env{Out: make([]byte, 0, 4096)}
		h := respondHandler{c}
		buf = buf[:0]
		for i := range in {
			buf = append(buf, in[i])
			n := c.Feed(env, h, buf)
			buf = append(buf[:0], buf[n:]...)
		}
		if len(env.Out) == 0 {
			b.Fatal("no response")
		}
	}
}

// BenchmarkFeedLargeFrame: a 60 KiB and a 1 MiB binary frame arriving in
// 1460-byte reads, fed the way the server feeds it (Feed skipped while
// fewer than Need() bytes are buffered; unconsumed bytes kept and fed
// again). The copies into buf stand for gnet's inbound ring, at no cost
// for its growth.
func BenchmarkFeedLargeFrame(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"60KiB", 60 << 10}, {"1MiB", 1 << 20}} {
		b.Run(bc.name, func(b *testing.B) {
			msg := frame(true, 0, ws.OpBinary, strings.Repeat("z", bc.size))
			buf := make([]byte, 0, len(msg))
			work := make([]byte, len(msg))
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				c, env := wsConn()
				env.Limits.MaxMessageBytes = 2 << 20
				copy(work, msg)
				buf = buf[:0]
				for off := 0; off < len(work); off += 1460 {
					buf = append(buf, work[off:min(off+1460, len(work))]...)
					if need := c.Need(); need > 0 && len(buf) < need {
						continue
					}
					n := c.Feed(env, nopHandler{}, buf)
					buf = append(buf[:0], buf[n:]...)
				}
				if len(buf) != 0 {
					b.Fatal("frame not consumed")
				}
			}
		})
	}
}

// BenchmarkFeedHeadTrickle feeds a 6.5 KiB request head one byte per read,
// as a slowloris client sends it.
func BenchmarkFeedHeadTrickle(b *testing.B) {
	in := []byte("GET /hello HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 100)+"\r\n", 60) + "\r\n")
	buf := make([]byte, 0, len(in))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c, env := &Conn{}, &Env{Out: make([]byte, 0, 4096)}
		h := respondHandler{c}
		buf = buf[:0]
		for i := range in {
			buf = append(buf, in[i])
			n := c.Feed(env, h, buf)
			buf = append(buf[:0], buf[n:]...)
		}
		if len(env.Out) == 0 {
			b.Fatal("no response")
		}
	}
}
