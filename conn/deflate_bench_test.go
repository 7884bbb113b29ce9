package conn

import (
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// benchChat is a chat message as the server broadcasts it.
var benchChat = []byte(`{"op":"msg","ch":"room:42","seq":1017,"t":1700000000123,"from":"alice","data":{"text":"see you at 8, bring the slides"}}`)

// BenchmarkBroadcastDeflate: one message to 1,000 deflate connections.
// "shared" compresses it once (codec.AppendDeflateFrame) and appends the
// same frame bytes to each connection's output, as the server's fan-out
// writes one shared frame; "per-connection" compresses it for each
// connection (WriteMessage), what a server with context takeover must
// do; "plain" is the uncompressed frame, for reference. ns/op is per
// message, for all 1,000 connections; out-B/conn is the bytes each one
// is sent.
func BenchmarkBroadcastDeflate(b *testing.B) {
	const conns = 1000
	for _, bc := range []struct {
		name    string
		payload []byte
	}{{"chat", benchChat}, {"4KiB", []byte(strings.Repeat(string(benchChat), 4<<10/len(benchChat)+1)[:4<<10])}} {
		cs := make([]*Conn, conns)
		var env *Env
		for i := range cs {
			cs[i], env = wsDeflateConn()
		}
		env.Out = make([]byte, 0, 8<<10)
		b.Run(bc.name+"/shared", func(b *testing.B) {
			frame := make([]byte, 0, 8<<10)
			b.ReportAllocs()
			for b.Loop() {
				frame = codec.AppendDeflateFrame(frame[:0], ws.OpText, bc.payload)
				for _, c := range cs {
					if c.Deflate() {
						env.Out = append(env.Out[:0], frame...)
					}
				}
			}
			b.ReportMetric(float64(len(env.Out)), "out-B/conn")
		})
		b.Run(bc.name+"/per-connection", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range cs {
					env.Out = env.Out[:0]
					c.WriteMessage(env, ws.OpText, bc.payload)
				}
			}
			b.ReportMetric(float64(len(env.Out)), "out-B/conn")
		})
		b.Run(bc.name+"/plain", func(b *testing.B) {
			frame := codec.AppendFrame(nil, ws.OpText, bc.payload)
			b.ReportAllocs()
			for b.Loop() {
				for range cs {
					env.Out = append(env.Out[:0], frame...)
				}
			}
			b.ReportMetric(float64(len(env.Out)), "out-B/conn")
		})
	}
}

// BenchmarkFeedCompressed feeds one compressed chat message to a deflate
// connection: unmasking, inflating and handing it to a no-op handler.
func BenchmarkFeedCompressed(b *testing.B) {
	for _, bc := range []struct {
		name    string
		payload string
	}{{"chat", string(benchChat)}, {"4KiB", strings.Repeat("κόσμε 0123456789", 256)}} {
		b.Run(bc.name, func(b *testing.B) {
			c, env := wsDeflateConn()
			msg := ztext(bc.payload)
			buf := make([]byte, len(msg))
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				copy(buf, msg)
				if n := c.Feed(env, nopHandler{}, buf); n != len(msg) {
					b.Fatalf("consumed %d", n)
				}
			}
			if c.State() != StateWebSocket {
				b.Fatalf("state %v", c.State())
			}
		})
	}
}
