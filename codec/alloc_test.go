//go:build !race

package codec

import (
	"testing"

	"github.com/gobwas/ws"
)

// TestZeroAllocs holds the hot paths to zero allocations. The race
// detector adds allocations of its own, hence the build tag.
func TestZeroAllocs(t *testing.T) {
	upgrade := []byte(chromeUpgrade)
	poll := []byte(pollGET)
	r := Request{Headers: make([]Header, 0, 64)}
	frame := []byte{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}
	payload := make([]byte, 70000)
	dst := make([]byte, 0, 80000)
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	body := []byte(`{"msg":"hello"}`)
	extra := []byte("Sec-WebSocket-Version: 13\r\n")
	query := []byte("uid=42&since=1700000000123&ch=news%2Fsports")
	chunked := []byte("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	utf8Text := []byte("plain ascii, then κόσμε and 世界 and 🌍")
	chat := []byte(`{"op":"msg","ch":"room:42","seq":1017,"t":1700000000123,"from":"alice","data":{"text":"see you at 8, bring the slides"}}`)
	chatDeflated := AppendDeflate(nil, chat)
	var extReq Request
	if _, err := ParseRequest([]byte("GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; client_max_window_bits\r\n\r\n"), &extReq, Limits{}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		fn   func()
	}{
		{"ParseRequest/upgrade", func() {
			if _, err := ParseRequest(upgrade, &r, Limits{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"ParseRequest/poll", func() {
			if _, err := ParseRequest(poll, &r, Limits{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"ParseRequest/needmore", func() { _, _ = ParseRequest(upgrade[:100], &r, Limits{}) }},
		{"Request.Header", func() { _ = r.Header("Sec-WebSocket-Key") }},
		{"CheckUpgrade", func() {
			_, _ = ParseRequest(upgrade, &r, Limits{})
			if _, err := CheckUpgrade(&r); err != nil {
				t.Fatal(err)
			}
		}},
		{"ParseFrameHeader", func() {
			if _, _, err := ParseFrameHeader(frame); err != nil {
				t.Fatal(err)
			}
		}},
		{"AppendFrameHeader", func() {
			_ = AppendFrameHeader(dst[:0], ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: 1 << 20})
		}},
		{"AppendFrame/125B", func() { _ = AppendFrame(dst[:0], ws.OpText, payload[:125]) }},
		{"AppendFrame/70000B", func() { _ = AppendFrame(dst[:0], ws.OpBinary, payload) }},
		{"AppendCloseFrame", func() { _ = AppendCloseFrame(dst[:0], ws.StatusGoingAway, "server shutting down") }},
		{"CheckClosePayload", func() { _, _ = CheckClosePayload([]byte{0x03, 0xe8, 'o', 'k'}) }},
		{"AppendAcceptKey", func() { _ = AppendAcceptKey(dst[:0], key) }},
		{"AppendUpgradeResponse", func() { _ = AppendUpgradeResponse(dst[:0], key) }},
		{"AppendResponse", func() { _ = AppendResponse(dst[:0], 200, "application/json", extra, body, false) }},
		{"QueryValue", func() {
			if _, ok, err := QueryValue(dst[:0], query, "ch"); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}},
		{"ParseRequest+Request.QueryValue", func() {
			if _, err := ParseRequest(poll, &r, Limits{}); err != nil {
				t.Fatal(err)
			}
			_, _, _ = r.QueryValue(dst[:0], "cursor")
			_, _, _ = r.QueryValue(dst[:0], "wait")
		}},
		{"ChunkedDecoder", func() {
			var d ChunkedDecoder
			d.Reset(1024)
			if _, _, done, err := d.Decode(dst[:0], chunked); !done || err != nil {
				t.Fatal(done, err)
			}
		}},
		{"UTF8Validator", func() {
			var v UTF8Validator
			if !v.Write(utf8Text) || !v.Valid() {
				t.Fatal("invalid")
			}
		}},
		{"AppendDeflate/chat", func() { _ = AppendDeflate(dst[:0], chat) }},
		{"AppendDeflate/70000B", func() { _ = AppendDeflate(dst[:0], payload) }},
		{"AppendDeflateFrame/chat", func() { _ = AppendDeflateFrame(dst[:0], ws.OpText, chat) }},
		{"AppendInflate/chat", func() {
			if _, err := AppendInflate(dst[:0], chatDeflated, 1<<10); err != nil {
				t.Fatal(err)
			}
		}},
		{"NegotiateDeflate", func() {
			if _, ok := NegotiateDeflate(&extReq); !ok {
				t.Fatal("declined")
			}
		}},
		{"AppendUpgradeResponseDeflate", func() { _ = AppendUpgradeResponseDeflate(dst[:0], key, DeflateParams{ServerMaxWindowBits: 12}) }},
	}
	for _, tc := range tests {
		if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tc.name, n)
		}
	}
}
