package conn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// upgradeReq is the RFC 6455 §1.3 sample handshake.
const upgradeReq = "GET /ws HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n\r\n"

// upgrade101 is the exact answer to upgradeReq.
const upgrade101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

// upgradeDeflateReq is upgradeReq offering permessage-deflate as Chrome does.
var upgradeDeflateReq = strings.Replace(upgradeReq, "\r\n\r\n",
	"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n", 1)

// fakeHandler records what a Conn hands it and acts on it by path (HTTP)
// or by payload (WebSocket):
//
//	/ws      codec.CheckUpgrade, then Upgrade or Reject (426 with the version);
//	         with deflate set, UpgradeDeflate when codec.NegotiateDeflate accepts
//	/park    Park
//	/close   Close(ReasonPolicy), no response
//	/reject  Reject(403)
//	other    Respond 200 "<method> <path> <len(body)>"
//
//	"bye"        Close(ReasonNormal)
//	"echo:..."   WriteMessage with the same opcode and payload
//	other        nothing
type fakeHandler struct {
	c       *Conn
	calls   []string
	deflate bool // accept permessage-deflate offers
}

func (h *fakeHandler) OnRequest(env *Env, req *codec.Request, body []byte) {
	h.calls = append(h.calls, fmt.Sprintf("req %s %s %q", req.Method, req.Path, body))
	switch string(req.Path) {
	case "/ws":
		key, err := codec.CheckUpgrade(req)
		if err != nil {
			var extra []byte
			if st := HTTPStatusOf(err); st == 426 {
				extra = []byte("Sec-WebSocket-Version: 13\r\n")
			}
			h.c.Reject(env, HTTPStatusOf(err), extra)
			return
		}
		if p, ok := codec.NegotiateDeflate(req); ok && h.deflate {
			h.c.UpgradeDeflate(env, key, p)
			return
		}
		h.c.Upgrade(env, key)
	case "/park":
		h.c.Park()
	case "/close":
		h.c.Close(env, ReasonPolicy)
	case "/reject":
		h.c.Reject(env, 403, nil)
	default:
		h.c.Respond(env, 200, "text/plain", nil, fmt.Appendf(nil, "%s %s %d", req.Method, req.Path, len(body)))
	}
}

func (h *fakeHandler) OnMessage(env *Env, op ws.OpCode, payload []byte) {
	h.calls = append(h.calls, fmt.Sprintf("msg %s %q", opName(op), payload))
	// What no message may be: the fuzz target fails on a call with "!".
	if op == ws.OpText && !utf8.Valid(payload) {
		h.calls = append(h.calls, "! invalid UTF-8 delivered")
	}
	if len(payload) > env.Limits.maxMessage() {
		h.calls = append(h.calls, "! message over MaxMessageBytes delivered")
	}
	if op != ws.OpText && op != ws.OpBinary {
		h.calls = append(h.calls, "! control or continuation opcode delivered")
	}
	switch {
	case string(payload) == "bye":
		h.c.Close(env, ReasonNormal)
	case bytes.HasPrefix(payload, []byte("echo:")):
		h.c.WriteMessage(env, op, payload)
	}
}

// nopHandler does nothing: the benchmark's and the alloc test's handler.
type nopHandler struct{}

func (nopHandler) OnRequest(*Env, *codec.Request, []byte) {}
func (nopHandler) OnMessage(*Env, ws.OpCode, []byte)      {}

// harness is one connection with its loop scratch, fed the way the server
// feeds it: unconsumed bytes are kept and fed again with more appended.
type harness struct {
	c   Conn
	env Env
	h   fakeHandler
	buf []byte // bytes fed but not consumed
	// wsOut: env.Out was last reset after the handshake, so it holds
	// frames only.
	wsOut bool
}

func newHarness(lim Limits) *harness {
	hs := &harness{env: Env{Limits: lim}}
	hs.h.c = &hs.c
	return hs
}

// newDeflateHarness is a harness whose handler accepts permessage-deflate
// and whose toState upgrades with an offer.
func newDeflateHarness(lim Limits) *harness {
	hs := newHarness(lim)
	hs.h.deflate = true
	return hs
}

// upgradeRequest is the handshake toState sends.
func (hs *harness) upgradeRequest() []byte {
	if hs.h.deflate {
		return []byte(upgradeDeflateReq)
	}
	return []byte(upgradeReq)
}

// feed appends in to the unconsumed bytes, feeds them once, and returns
// how many bytes Feed consumed. in is copied: Feed unmasks in place.
func (hs *harness) feed(t testing.TB, in []byte) int {
	t.Helper()
	hs.buf = append(hs.buf, in...)
	n := hs.c.Feed(&hs.env, &hs.h, hs.buf)
	if n < 0 || n > len(hs.buf) {
		t.Fatalf("Feed consumed %d of %d bytes", n, len(hs.buf))
	}
	hs.buf = append(hs.buf[:0], hs.buf[n:]...)
	return n
}

// reset forgets output and calls, keeping the connection state.
func (hs *harness) reset() {
	hs.env.Out = hs.env.Out[:0]
	hs.h.calls = nil
	hs.wsOut = hs.c.State() == StateWebSocket || hs.c.State() == StateClosing
}

// output renders env.Out (see renderFrames): compressed frames are allowed
// when the connection has Deflate.
func (hs *harness) output() ([]string, error) {
	return renderFrames(hs.env.Out, hs.wsOut, hs.c.Deflate())
}

// toState brings a fresh harness to s, leaving no output or calls behind.
func (hs *harness) toState(t testing.TB, s State) {
	t.Helper()
	switch s {
	case StateHead:
	case StateWebSocket:
		hs.feed(t, hs.upgradeRequest())
	case StateClosing:
		hs.feed(t, hs.upgradeRequest())
		hs.c.Close(&hs.env, ReasonShutdown)
	case StateParked:
		hs.feed(t, []byte("GET /park HTTP/1.1\r\nHost: h\r\n\r\n"))
	case StateClosed:
		hs.c.Closed()
	}
	if got := hs.c.State(); got != s {
		t.Fatalf("setup: state %v, want %v", got, s)
	}
	hs.reset()
}

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frame builds a masked client frame.
func frame(fin bool, rsv byte, op ws.OpCode, payload string) []byte {
	return frameLen(fin, rsv, op, int64(len(payload)), payload)
}

// frameLen builds a masked client frame whose header announces length,
// followed by payload (which may be shorter: a partial frame).
func frameLen(fin bool, rsv byte, op ws.OpCode, length int64, payload string) []byte {
	b := codec.AppendFrameHeader(nil, ws.Header{Fin: fin, Rsv: rsv, OpCode: op, Masked: true, Mask: testMask, Length: length})
	p := []byte(payload)
	ws.Cipher(p, testMask, 0)
	return append(b, p...)
}

// unmaskedFrame builds a frame as a server would send it, which a server
// must refuse from a client.
func unmaskedFrame(op ws.OpCode, payload string) []byte {
	return codec.AppendFrame(nil, op, []byte(payload))
}

func text(s string) []byte { return frame(true, 0, ws.OpText, s) }
func ping(s string) []byte { return frame(true, 0, ws.OpPing, s) }
func closeCode(code uint16, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, code)
	return frame(true, 0, ws.OpClose, string(p)+reason)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func opName(op ws.OpCode) string {
	switch op {
	case ws.OpContinuation:
		return "cont"
	case ws.OpText:
		return "text"
	case ws.OpBinary:
		return "binary"
	case ws.OpClose:
		return "close"
	case ws.OpPing:
		return "ping"
	case ws.OpPong:
		return "pong"
	}
	return fmt.Sprintf("op%d", op)
}

// renderOutput splits server output into its HTTP responses, each as its
// exact text, and, after a 101, its WebSocket frames decoded with
// codec.ParseFrameHeader: "close 1002 \"protocol error\"", "pong \"x\"".
// Malformed output is an error: server frames are FIN, RSV 0, unmasked.
// frames says the output starts after the handshake.
func renderOutput(out []byte, frames bool) ([]string, error) { return renderFrames(out, frames, false) }

// renderFrames is renderOutput that, when deflate is set, also accepts
// compressed data frames (RSV1) and renders them inflated, with a "z"
// before the opcode: ztext "hello".
func renderFrames(out []byte, frames, deflate bool) ([]string, error) {
	var items []string
	for len(out) > 0 {
		if !frames {
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
				return items, fmt.Errorf("not a response: %q", out)
			}
			end := bytes.Index(out, []byte("\r\n\r\n"))
			if end < 0 {
				return items, fmt.Errorf("unterminated head: %q", out)
			}
			end += 4
			status, _ := strconv.Atoi(string(out[9:12]))
			clen := 0
			for line := range strings.SplitSeq(string(out[:end]), "\r\n") {
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					clen, _ = strconv.Atoi(v)
				}
			}
			if end+clen > len(out) {
				return items, fmt.Errorf("short body: %q", out)
			}
			items = append(items, string(out[:end+clen]))
			out = out[end+clen:]
			frames = status == 101
			continue
		}
		hdr, n, err := codec.ParseFrameHeader(out)
		if err != nil {
			return items, fmt.Errorf("frame header %q: %v", out, err)
		}
		zipped := deflate && hdr.Rsv == codec.RsvDeflate && !hdr.OpCode.IsControl()
		if !hdr.Fin || hdr.Rsv != 0 && !zipped || hdr.Masked {
			return items, fmt.Errorf("bad server frame header %+v", hdr)
		}
		if int64(len(out)-n) < hdr.Length {
			return items, fmt.Errorf("short frame payload: %q", out)
		}
		p := out[n : n+int(hdr.Length)]
		out = out[n+int(hdr.Length):]
		if zipped {
			m, err := codec.AppendInflate(nil, p, 1<<30)
			if err != nil {
				return items, fmt.Errorf("compressed frame % x: %v", p, err)
			}
			items = append(items, fmt.Sprintf("z%s %q", opName(hdr.OpCode), m))
			continue
		}
		if hdr.OpCode != ws.OpClose {
			items = append(items, fmt.Sprintf("%s %q", opName(hdr.OpCode), p))
			continue
		}
		code, err := codec.CheckClosePayload(p)
		switch {
		case err != nil:
			return items, fmt.Errorf("server close payload %q: %v", p, err)
		case len(p) == 0:
			items = append(items, "close")
		default:
			items = append(items, fmt.Sprintf("close %d %q", code, p[2:]))
		}
	}
	return items, nil
}

// ok200 is the exact response the fake handler writes for a request.
func ok200(body string, keepAlive bool) string {
	s := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if !keepAlive {
		s += "Connection: close\r\n"
	}
	return s + "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n" + body
}

// rejected is the exact response Reject writes.
func rejected(status int, phrase, extra string) string {
	body := phrase + "\n"
	return "HTTP/1.1 " + strconv.Itoa(status) + " " + phrase + "\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" +
		extra + "\r\n" + body
}

// zframe builds a masked client frame starting a compressed message:
// payload compressed by codec.AppendDeflate, RSV1 set.
func zframe(fin bool, op ws.OpCode, payload string) []byte {
	return frame(fin, codec.RsvDeflate, op, string(codec.AppendDeflate(nil, []byte(payload))))
}

func ztext(s string) []byte { return zframe(true, ws.OpText, s) }

// holdsBuffers reports whether c holds a pooled buffer.
func (c *Conn) holdsBuffers() bool { return c.msg != nil || c.chunk != nil || c.head != nil }

// respondHandler answers every request with a fixed body.
type respondHandler struct{ c *Conn }

var okBody = []byte("ok\n")

func (h respondHandler) OnRequest(env *Env, _ *codec.Request, _ []byte) {
	h.c.Respond(env, 200, "text/plain", nil, okBody)
}
func (respondHandler) OnMessage(*Env, ws.OpCode, []byte) {}
