package conn

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// rfcHello is "Hello" compressed in one block (RFC 7692 §7.2.3.1).
const rfcHello = "\xf2\x48\xcd\xc9\xc9\x07\x00"

const badDataClose = `close 1007 "invalid compressed data"`

// randomBytes returns n incompressible bytes.
func randomBytes(n int) string {
	rng := rand.New(rand.NewPCG(7, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// deflateCases run on a connection that negotiated permessage-deflate
// (upgradeDeflateReq) unless they start in StateHead.
func deflateCases() []feedCase {
	long := "echo:" + strings.Repeat("compress me ", 20)
	random := randomBytes(3000)
	random3000 := zframe(true, ws.OpBinary, random)
	limited := strings.Replace(upgradeReq, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n\r\n", 1)
	limited101 := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10\r\n\r\n"
	cases := []feedCase{
		{
			name:  "compressed text",
			steps: once(ztext("hello")),
			calls: []string{`msg text "hello"`},
		},
		{
			name:  "RFC 7692 §7.2.3.1: one frame",
			steps: once(frame(true, codec.RsvDeflate, ws.OpText, rfcHello)),
			calls: []string{`msg text "Hello"`},
		},
		{
			name:  "RFC 7692 §7.2.3.1: two fragments, a ping between them",
			steps: once(cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello[:3]), ping("p"), frame(true, 0, ws.OpContinuation, rfcHello[3:]))),
			calls: []string{`msg text "Hello"`},
			out:   []string{`pong "p"`},
		},
		{
			name:  "RFC 7692 §7.2.3.3: a stored block",
			steps: once(frame(true, codec.RsvDeflate, ws.OpText, "\x00\x05\x00\xfa\xffHello\x00")),
			calls: []string{`msg text "Hello"`},
		},
		{
			name:  "RFC 7692 §7.2.3.6: an empty final fragment",
			steps: once(cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello+"\x00\x00\xff\xff"), frame(true, 0, ws.OpContinuation, "\x00"))),
			calls: []string{`msg text "Hello"`},
		},
		{
			name:  "compressed binary, not UTF-8",
			steps: once(zframe(true, ws.OpBinary, "\xff\x00\xfe")),
			calls: []string{`msg binary "\xff\x00\xfe"`},
		},
		{
			name:  "uncompressed messages still pass",
			steps: once(cat(text("plain"), ztext("zipped"), text("plain again"))),
			calls: []string{`msg text "plain"`, `msg text "zipped"`, `msg text "plain again"`},
		},
		{
			name: "compressed message streamed over two reads",
			steps: []step{
				{in: random3000[:100], consumed: -1, need: 0},
				{in: random3000[100:], consumed: -1, need: 0},
			},
			calls: []string{fmt.Sprintf("msg binary %q", random)},
		},
		{
			name:  "reply compressed",
			steps: once(ztext(long)),
			calls: []string{`msg text "` + long + `"`},
			out:   []string{`ztext "` + long + `"`},
		},
		{
			name:  "short reply not compressed",
			steps: once(ztext("echo:hi")),
			calls: []string{`msg text "echo:hi"`},
			out:   []string{`text "echo:hi"`},
		},

		// RFC 7692 §6: RSV1 only on the first frame of a data message.
		{
			name:   "RSV1 on a continuation: 1002",
			steps:  once(cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello[:3]), frame(true, codec.RsvDeflate, ws.OpContinuation, rfcHello[3:]))),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV1 on a ping: 1002",
			steps:  once(frame(true, codec.RsvDeflate, ws.OpPing, "p")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV1 on a close: 1002",
			steps:  once(frame(true, codec.RsvDeflate, ws.OpClose, "\x03\xe8")),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV2: 1002",
			steps:  once(frame(true, 2, ws.OpText, rfcHello)),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},
		{
			name:   "RSV1 and RSV3: 1002",
			steps:  once(frame(true, codec.RsvDeflate|1, ws.OpText, rfcHello)),
			out:    []string{protoClose},
			state:  StateClosed,
			reason: ReasonProtocol,
		},

		// Bad compressed data, bad UTF-8 inside, zip bombs.
		{
			name:   "not DEFLATE data: 1007",
			steps:  once(frame(true, codec.RsvDeflate, ws.OpText, "\x07\x00")),
			out:    []string{badDataClose},
			state:  StateClosed,
			reason: ReasonBadCompression,
		},
		{
			name:   "empty compressed payload: 1007",
			steps:  once(frame(true, codec.RsvDeflate, ws.OpText, "")),
			out:    []string{badDataClose},
			state:  StateClosed,
			reason: ReasonBadCompression,
		},
		{
			name:   "RFC 7692 §7.2.3.2: a back-reference into the previous message: 1007",
			steps:  once(cat(frame(true, codec.RsvDeflate, ws.OpText, rfcHello), frame(true, codec.RsvDeflate, ws.OpText, "\xf2\x00\x11\x00\x00"))),
			calls:  []string{`msg text "Hello"`},
			out:    []string{badDataClose},
			state:  StateClosed,
			reason: ReasonBadCompression,
		},
		{
			name:   "inflated text not UTF-8: 1007",
			steps:  once(ztext("ok then \xc3\x28")),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "inflated text ending inside a code point: 1007",
			steps:  once(cat(frame(false, codec.RsvDeflate, ws.OpText, string(codec.AppendDeflate(nil, []byte("κ\xcf")))+"\x00\x00\xff\xff"), frame(true, 0, ws.OpContinuation, "\x00"))),
			out:    []string{utf8Close},
			state:  StateClosed,
			reason: ReasonBadUTF8,
		},
		{
			name:   "zip bomb: 1 MiB of zeros in about 1 KiB: 1009",
			limits: Limits{MaxMessageBytes: 1024},
			steps:  once(zframe(true, ws.OpBinary, string(make([]byte, 1<<20)))),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "inflated to the limit exactly",
			limits: Limits{MaxMessageBytes: 100},
			steps:  once(zframe(true, ws.OpText, strings.Repeat("a", 100))),
			calls:  []string{`msg text "` + strings.Repeat("a", 100) + `"`},
		},
		{
			name:   "inflated one byte past the limit: 1009",
			limits: Limits{MaxMessageBytes: 100},
			steps:  once(zframe(true, ws.OpText, strings.Repeat("a", 101))),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			// compressedLimit(100) is 368: decided from the header.
			name:   "compressed bytes past their cap: 1009 before the payload",
			limits: Limits{MaxMessageBytes: 100},
			steps:  []step{{in: frameLen(true, codec.RsvDeflate, ws.OpBinary, 369, ""), consumed: -1, need: 0}},
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},
		{
			name:   "fragments' compressed bytes past their cap: 1009",
			limits: Limits{MaxMessageBytes: 100},
			steps:  once(cat(frame(false, codec.RsvDeflate, ws.OpBinary, strings.Repeat("\x00", 300)), frameLen(true, 0, ws.OpContinuation, 69, ""))),
			out:    []string{bigClose},
			state:  StateClosed,
			reason: ReasonTooBig,
		},

		// Closing: nothing is delivered, so nothing is inflated.
		{
			name:   "closing: compressed messages neither delivered nor inflated",
			from:   StateClosing,
			steps:  once(cat(ztext("hello"), frame(true, codec.RsvDeflate, ws.OpText, "\x07\x00"), closeCode(1000, ""))),
			state:  StateClosed,
			reason: ReasonShutdown,
		},
	}
	for i := range cases {
		cases[i].deflate = true
		if cases[i].from == StateHead {
			cases[i].from = StateWebSocket
		}
		if cases[i].state == StateHead {
			cases[i].state = StateWebSocket
		}
	}
	// From the handshake: an offer limiting the server's window is
	// accepted, and answered without compression.
	return append(cases, feedCase{
		name:    "limited window: compressed messages in, plain replies out",
		deflate: true,
		steps:   once(cat(str(limited), ztext(long))),
		calls:   []string{`req GET /ws ""`, `msg text "` + long + `"`},
		out:     []string{limited101, `text "` + long + `"`},
		state:   StateWebSocket,
	})
}

// wsDeflateConn is wsConn with permessage-deflate accepted.
func wsDeflateConn() (*Conn, *Env) {
	c, env := &Conn{}, &Env{Out: make([]byte, 0, 4096)}
	c.UpgradeDeflate(env, []byte("dGhlIHNhbXBsZSBub25jZQ=="), codec.DeflateParams{})
	env.Out = env.Out[:0]
	return c, env
}

// TestUpgradeDeflate: the 101 accepts the offer, and Deflate says so.
func TestUpgradeDeflate(t *testing.T) {
	hs := newDeflateHarness(Limits{})
	hs.feed(t, []byte(upgradeDeflateReq))
	want := strings.Replace(upgrade101, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n", 1)
	if string(hs.env.Out) != want {
		t.Fatalf("got  %q\nwant %q", hs.env.Out, want)
	}
	if !hs.c.Deflate() || hs.c.State() != StateWebSocket {
		t.Fatalf("Deflate() = %v, state %v", hs.c.Deflate(), hs.c.State())
	}
	// Without an offer, the same handler upgrades without the extension,
	// and RSV1 is refused as before.
	plain := newDeflateHarness(Limits{})
	plain.feed(t, []byte(upgradeReq))
	if string(plain.env.Out) != upgrade101 || plain.c.Deflate() {
		t.Fatalf("no offer: %q, Deflate() = %v", plain.env.Out, plain.c.Deflate())
	}
	plain.reset()
	plain.feed(t, ztext("hello"))
	wantOutput(t, plain, protoClose)
}

// TestWriteMessageDeflate: WriteMessage compresses data messages of
// DeflateMinBytes or more, only when that makes the frame smaller, and
// never a control frame; Upgrade without deflate never compresses.
func TestWriteMessageDeflate(t *testing.T) {
	big := bytes.Repeat([]byte("abcd"), DeflateMinBytes)
	for _, tc := range []struct {
		name    string
		op      ws.OpCode
		payload []byte
		rsv     byte
	}{
		{"text over the threshold", ws.OpText, big, codec.RsvDeflate},
		{"binary over the threshold", ws.OpBinary, big, codec.RsvDeflate},
		{"just under the threshold", ws.OpText, big[:DeflateMinBytes-1], 0},
		{"incompressible", ws.OpBinary, []byte(randomBytes(1000)), 0},
		{"ping", ws.OpPing, big[:100], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, env := wsDeflateConn()
			c.WriteMessage(env, tc.op, tc.payload)
			h, n, err := codec.ParseFrameHeader(env.Out)
			if err != nil || h.Rsv != tc.rsv || h.OpCode != tc.op || !h.Fin {
				t.Fatalf("header %+v, %v; want rsv %d", h, err, tc.rsv)
			}
			p := env.Out[n:]
			if h.Rsv != 0 {
				if len(p) >= len(tc.payload) {
					t.Errorf("compressed to %d bytes from %d", len(p), len(tc.payload))
				}
				var err error
				if p, err = codec.AppendInflate(nil, p, len(tc.payload)); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(p, tc.payload) {
				t.Errorf("payload differs")
			}
			plainC, plainEnv := wsConn()
			plainC.WriteMessage(plainEnv, tc.op, tc.payload)
			if !bytes.Equal(plainEnv.Out, codec.AppendFrame(nil, tc.op, tc.payload)) {
				t.Errorf("without deflate: not the plain frame")
			}
		})
	}
}
