//go:build !race

package conn

import (
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// respondHandler answers every request with a fixed body.
type respondHandler struct{ c *Conn }

var okBody = []byte("ok\n")

func (h respondHandler) OnRequest(env *Env, _ *codec.Request, _ []byte) {
	h.c.Respond(env, 200, "text/plain", nil, okBody)
}
func (respondHandler) OnMessage(*Env, ws.OpCode, []byte) {}

// TestZeroAllocs holds the hot paths to zero allocations once the loop's
// buffers have grown. The race detector adds allocations of its own,
// hence the build tag.
func TestZeroAllocs(t *testing.T) {
	textFrame := text(strings.Repeat("0123456789abcdef", 8))
	pingFrame := ping("heartbeat")
	get := str(getHello + getWorld)

	tests := []struct {
		name string
		in   []byte
		head bool
	}{
		{"text frame 128B", textFrame, false},
		{"ping", pingFrame, false},
		{"pipelined keep-alive GETs", get, true},
	}
	for _, tc := range tests {
		var c *Conn
		var env *Env
		if tc.head {
			c, env = &Conn{}, &Env{Out: make([]byte, 0, 4096)}
		} else {
			c, env = wsConn()
		}
		var h Handler = nopHandler{}
		if tc.head {
			h = respondHandler{c}
		}
		buf := make([]byte, len(tc.in))
		n := testing.AllocsPerRun(100, func() {
			copy(buf, tc.in)
			if m := c.Feed(env, h, buf); m != len(tc.in) {
				t.Fatalf("%s: consumed %d of %d", tc.name, m, len(tc.in))
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
