//go:build !race

package conn

import (
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// TestZeroAllocs holds the hot paths to zero allocations once the loop's
// buffers have grown. The race detector adds allocations of its own,
// hence the build tag.
func TestZeroAllocs(t *testing.T) {
	textFrame := text(strings.Repeat("0123456789abcdef", 8))
	pingFrame := ping("heartbeat")
	get := str(getHello + getWorld)
	bigText := text(strings.Repeat("κόσμε 0123456789", 256)) // 4 KiB
	chunked := str(chunkHead + chunkBody)
	zText := ztext(strings.Repeat("0123456789abcdef", 8))
	zBig := zframe(true, ws.OpText, strings.Repeat("κόσμε 0123456789", 256))

	tests := []struct {
		name    string
		in      []byte
		head    bool
		reads   int  // the input arrives in this many reads; 0 means 1
		deflate bool // on a connection that negotiated permessage-deflate
	}{
		{"text frame 128B", textFrame, false, 0, false},
		{"ping", pingFrame, false, 0, false},
		{"pipelined keep-alive GETs", get, true, 0, false},
		{"text frame 4KiB in 3 reads", bigText, false, 3, false},
		{"chunked POST in 4 reads", chunked, true, 4, false},
		{"GET head in 5 reads", get, true, 5, false},
		{"text frame 128B, deflate negotiated", textFrame, false, 0, true},
		{"compressed text 128B", zText, false, 0, true},
		{"compressed text 4KiB in 3 reads", zBig, false, 3, true},
	}
	for _, tc := range tests {
		var c *Conn
		var env *Env
		switch {
		case tc.head:
			c, env = &Conn{}, &Env{Out: make([]byte, 0, 4096)}
		case tc.deflate:
			c, env = wsDeflateConn()
		default:
			c, env = wsConn()
		}
		var h Handler = nopHandler{}
		if tc.head {
			h = respondHandler{c}
		}
		buf := make([]byte, len(tc.in))
		reads := max(tc.reads, 1)
		step := (len(tc.in) + reads - 1) / reads
		n := testing.AllocsPerRun(100, func() {
			copy(buf, tc.in)
			consumed := 0
			for off := 0; off < len(buf); off += step {
				// Each read is fed with what the previous one left.
				end := min(off+step, len(buf))
				consumed += c.Feed(env, h, buf[consumed:end])
			}
			if consumed != len(tc.in) {
				t.Fatalf("%s: consumed %d of %d", tc.name, consumed, len(tc.in))
			}
			env.Out = env.Out[:0]
		})
		if n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tc.name, n)
		}
		if tc.head && c.State() != StateHead || !tc.head && c.State() != StateWebSocket {
			t.Errorf("%s: state %v", tc.name, c.State())
		}
	}
}

// TestWriteMessageDeflateAllocs: a compressed reply allocates nothing once
// env.Out has grown.
func TestWriteMessageDeflateAllocs(t *testing.T) {
	c, env := wsDeflateConn()
	reply := []byte(`{"op":"msg","ch":"room:42","seq":1017,"t":1700000000123,"from":"alice","data":{"text":"see you at 8, bring the slides"}}`)
	n := testing.AllocsPerRun(100, func() {
		env.Out = env.Out[:0]
		c.WriteMessage(env, ws.OpText, reply)
	})
	if n != 0 {
		t.Errorf("%v allocs/op, want 0", n)
	}
	if h, _, err := codec.ParseFrameHeader(env.Out); err != nil || h.Rsv != codec.RsvDeflate {
		t.Fatalf("not compressed: %+v %v", h, err)
	}
}
