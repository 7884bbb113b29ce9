package codec

import (
	"strings"
	"testing"
)

// accepted is the response for an offer without server_max_window_bits.
const accepted = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// TestNegotiateDeflate: offers (each string one Sec-WebSocket-Extensions
// field) and the response the server gives, "" when it declines.
func TestNegotiateDeflate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []string
		want   string
	}{
		{"no field", nil, ""},
		{"firefox", []string{"permessage-deflate"}, accepted},
		{"chrome", []string{"permessage-deflate; client_max_window_bits"}, accepted},
		{"gorilla", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, accepted},
		{"client window with a value", []string{"permessage-deflate; client_max_window_bits=8"}, accepted},
		{"server window echoed", []string{"permessage-deflate; server_max_window_bits=10"}, accepted + "; server_max_window_bits=10"},
		{"server window 15 echoed", []string{"permessage-deflate; server_max_window_bits=15"}, accepted + "; server_max_window_bits=15"},
		{"server window 8", []string{"permessage-deflate; server_max_window_bits=8; client_max_window_bits"}, accepted + "; server_max_window_bits=8"},
		{"quoted window", []string{`permessage-deflate; server_max_window_bits="12"`}, accepted + "; server_max_window_bits=12"},
		{"quoted-pair in a window", []string{`permessage-deflate; server_max_window_bits="1\2"`}, accepted + "; server_max_window_bits=12"},
		{"whitespace around separators", []string{"  permessage-deflate ;\tclient_max_window_bits = 10 ,  "}, accepted},
		{"case-insensitive names", []string{"PerMessage-Deflate; Client_Max_Window_Bits"}, accepted},
		{"other extensions first", []string{"x-webkit-deflate-frame, foo; bar=1, permessage-deflate"}, accepted},
		{"empty elements", []string{", ,permessage-deflate,"}, accepted},
		{"offer in a second field", []string{"foo", "permessage-deflate"}, accepted},
		{"first acceptable offer wins", []string{"permessage-deflate; server_max_window_bits=9, permessage-deflate"}, accepted + "; server_max_window_bits=9"},
		{"invalid offer skipped", []string{"permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits"}, accepted},
		{"malformed element skipped", []string{"permessage-deflate; =1, permessage-deflate"}, accepted},

		// RFC 7692 §7.1: undefined parameters, invalid values, duplicates.
		{"unknown parameter", []string{"permessage-deflate; foo"}, ""},
		{"unknown parameter with value", []string{"permessage-deflate; foo=bar"}, ""},
		{"server window without value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"server window 16", []string{"permessage-deflate; server_max_window_bits=16"}, ""},
		{"server window 7", []string{"permessage-deflate; server_max_window_bits=7"}, ""},
		{"leading zero", []string{"permessage-deflate; server_max_window_bits=09"}, ""},
		{"not a number", []string{"permessage-deflate; server_max_window_bits=1a"}, ""},
		{"empty quoted value", []string{`permessage-deflate; server_max_window_bits=""`}, ""},
		{"client window 7", []string{"permessage-deflate; client_max_window_bits=7"}, ""},
		{"client window 100", []string{"permessage-deflate; client_max_window_bits=100"}, ""},
		{"value on a flag", []string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{"quoted empty value on a flag", []string{`permessage-deflate; client_no_context_takeover=""`}, ""},
		{"duplicate flag", []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, ""},
		{"duplicate client window without values", []string{"permessage-deflate; client_max_window_bits; client_max_window_bits"}, ""},
		{"duplicate server window", []string{"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"}, ""},
		{"duplicate in another case", []string{"permessage-deflate; client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER"}, ""},

		// Grammar (RFC 6455 §9.1): broken elements are skipped, not fatal.
		{"trailing semicolon", []string{"permessage-deflate;"}, ""},
		{"missing semicolon", []string{"permessage-deflate client_max_window_bits"}, ""},
		{"equals without value", []string{"permessage-deflate; client_max_window_bits="}, ""},
		{"name is not a token", []string{"permessage-deflate/1"}, ""},
		{"longer name", []string{"permessage-deflatex"}, ""},
		{"offer inside a quoted-string", []string{`foo; bar="a, permessage-deflate", baz`}, ""},
		{"offer after a quoted comma", []string{`foo; bar="a,b", permessage-deflate`}, accepted},
		{"unterminated quoted-string", []string{`foo; bar="abc, permessage-deflate`}, ""},
		{"escaped quote inside a quoted-string", []string{`foo; bar="a\", permessage-deflate"`, "permessage-deflate; server_max_window_bits=11"}, accepted + "; server_max_window_bits=11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var head strings.Builder
			head.WriteString("GET /ws HTTP/1.1\r\nHost: h\r\n")
			for _, f := range tc.fields {
				head.WriteString("Sec-WebSocket-Extensions: " + f + "\r\n")
			}
			head.WriteString("\r\n")
			var r Request
			if _, err := ParseRequest([]byte(head.String()), &r, Limits{}); err != nil {
				t.Fatal(err)
			}
			p, ok := NegotiateDeflate(&r)
			got := ""
			if ok {
				got = string(AppendDeflateExtension(nil, p))
			}
			if got != tc.want {
				t.Errorf("response %q, want %q", got, tc.want)
			}
			if !ok && p != (DeflateParams{}) {
				t.Errorf("declined with params %+v", p)
			}
			if full := !strings.Contains(tc.want, "server_max_window_bits=") || strings.HasSuffix(tc.want, "=15"); ok && p.FullWindow() != full {
				t.Errorf("FullWindow() = %v", p.FullWindow())
			}
		})
	}
}

// TestUpgradeResponseDeflate: the 101 with the extension field, on the
// RFC 6455 §1.3 sample key.
func TestUpgradeResponseDeflate(t *testing.T) {
	got := string(AppendUpgradeResponseDeflate(nil, []byte("dGhlIHNhbXBsZSBub25jZQ=="), DeflateParams{ServerMaxWindowBits: 10}))
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Extensions: " + accepted + "; server_max_window_bits=10\r\n\r\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
