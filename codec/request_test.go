package codec

import (
	"errors"
	"strings"
	"testing"
)

// chromeUpgrade is a WebSocket opening handshake as sent by Chromium.
const chromeUpgrade = "GET /ws?token=abc%20def&v=2 HTTP/1.1\r\n" +
	"Host: push.example.com\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: https://app.example.com\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: sid=0123456789abcdef; theme=dark\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// pollGET is a long-poll request as fetch() sends it.
const pollGET = "GET /poll?uid=42&since=1700000000123&ch=news%2Fsports HTTP/1.1\r\n" +
	"Host: push.example.com:8080\r\n" +
	"Connection: keep-alive\r\n" +
	"Accept: */*\r\n" +
	"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\r\n" +
	"Referer: https://app.example.com/\r\n" +
	"\r\n"

// ssePOST is a publish request with a body.
const postBody = "POST /pub?ch=news HTTP/1.1\r\n" +
	"Host: push.example.com\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 13\r\n" +
	"\r\n" +
	`{"msg":"hi"}` + "\n"

// sseGET is an EventSource stream request.
const sseGET = "GET /sub/news HTTP/1.1\r\n" +
	"Host: push.example.com\r\n" +
	"Accept: text/event-stream\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Last-Event-ID: 17\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

type reqWant struct {
	method, target, path, query string
	noQuery                     bool
	minor                       int
	headers                     int
	cl                          int64
	chunked, keepAlive, upgrade bool
}

type reqCase struct {
	name string
	in   string
	lim  Limits
	n    int // expected head length; -1 means len(in)
	want *reqWant
	err  error
}

func manyHeaders(k int) string {
	var sb strings.Builder
	sb.WriteString("GET / HTTP/1.1\r\nHost: h\r\n")
	for i := 1; i < k; i++ {
		sb.WriteString("X-H: v\r\n")
	}
	sb.WriteString("\r\n")
	return sb.String()
}

var reqCases = []reqCase{
	{name: "chromium upgrade", in: chromeUpgrade, n: -1, want: &reqWant{
		method: "GET", target: "/ws?token=abc%20def&v=2", path: "/ws", query: "token=abc%20def&v=2",
		minor: 1, headers: 13, cl: -1, keepAlive: true, upgrade: true}},
	{name: "long-poll GET", in: pollGET, n: -1, want: &reqWant{
		method: "GET", target: "/poll?uid=42&since=1700000000123&ch=news%2Fsports", path: "/poll",
		query: "uid=42&since=1700000000123&ch=news%2Fsports", minor: 1, headers: 5, cl: -1, keepAlive: true}},
	{name: "POST with body", in: postBody, n: len(postBody) - 13, want: &reqWant{
		method: "POST", target: "/pub?ch=news", path: "/pub", query: "ch=news", minor: 1, headers: 3, cl: 13, keepAlive: true}},
	{name: "SSE GET", in: sseGET, n: -1, want: &reqWant{
		method: "GET", target: "/sub/news", path: "/sub/news", noQuery: true, minor: 1, headers: 5, cl: -1, keepAlive: true}},
	{name: "empty query", in: "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/a?", path: "/a", query: "", minor: 1, headers: 1, cl: -1, keepAlive: true}},
	{name: "chunked POST", in: "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", n: 57, want: &reqWant{
		method: "POST", target: "/p", path: "/p", noQuery: true, minor: 1, headers: 2, cl: -1, chunked: true, keepAlive: true}},
	{name: "http/1.0 default close", in: "GET / HTTP/1.0\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 0, cl: -1}},
	{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 0, headers: 1, cl: -1, keepAlive: true}},
	{name: "connection close", in: "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 2, cl: -1}},
	{name: "upgrade token lists", in: "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, UPGRADE\r\nUpgrade: h2c, WebSocket\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 3, cl: -1, keepAlive: true, upgrade: true}},
	{name: "upgrade without connection token", in: "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 2, cl: -1, keepAlive: true}},
	{name: "leading empty lines", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 1, cl: -1, keepAlive: true}},
	{name: "OWS trimmed and empty value", in: "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t a b \t\r\nX-B:\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 3, cl: -1, keepAlive: true}},
	{name: "options asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", n: -1, want: &reqWant{
		method: "OPTIONS", target: "*", path: "*", noQuery: true, minor: 1, headers: 1, cl: -1, keepAlive: true}},
	{name: "content-length zero", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", n: -1, want: &reqWant{
		method: "POST", target: "/", path: "/", noQuery: true, minor: 1, headers: 2, cl: 0, keepAlive: true}},
	{name: "content-length 18 digits", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\n", n: -1, want: &reqWant{
		method: "POST", target: "/", path: "/", noQuery: true, minor: 1, headers: 2, cl: 999999999999999999, keepAlive: true}},
	{name: "exactly 64 headers", in: manyHeaders(64), n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 64, cl: -1, keepAlive: true}},
	{name: "head exactly at limit", in: "GET / HTTP/1.1\r\nHost: h\r\n\r\n", lim: Limits{MaxHeaderBytes: 27}, n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 1, cl: -1, keepAlive: true}},
	{name: "obs-text in value", in: "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n", n: -1, want: &reqWant{
		method: "GET", target: "/", path: "/", noQuery: true, minor: 1, headers: 2, cl: -1, keepAlive: true}},

	// Smuggling and framing.
	{name: "CL and TE", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadRequest},
	{name: "TE and CL", in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", err: ErrBadRequest},
	{name: "duplicate CL same value", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", err: ErrBadContentLength},
	{name: "duplicate CL different", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", err: ErrBadContentLength},
	{name: "negative CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", err: ErrBadContentLength},
	{name: "plus CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", err: ErrBadContentLength},
	{name: "hex CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", err: ErrBadContentLength},
	{name: "list CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", err: ErrBadContentLength},
	{name: "empty CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", err: ErrBadContentLength},
	{name: "19 digit CL", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000000\r\n\r\n", err: ErrBadContentLength},
	{name: "TE gzip", in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrUnsupportedTransferEncoding},
	{name: "TE gzip chunked", in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: ErrUnsupportedTransferEncoding},
	{name: "TE twice", in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrUnsupportedTransferEncoding},
	{name: "TE in HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadRequest},
	{name: "bare LF request line", in: "GET / HTTP/1.1\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "bare LF header", in: "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", err: ErrBadRequest},
	{name: "bare LF end", in: "GET / HTTP/1.1\r\nHost: h\r\n\n", err: ErrBadRequest},
	{name: "bare LF leading", in: "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "CR without LF", in: "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", err: ErrBadRequest},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", err: ErrBadRequest},
	{name: "obs-fold tab", in: "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", err: ErrBadRequest},
	{name: "space before first header", in: "GET / HTTP/1.1\r\n Host: h\r\n\r\n", err: ErrBadRequest},
	{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : h\r\n\r\n", err: ErrBadRequest},
	{name: "empty header name", in: "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", err: ErrBadRequest},
	{name: "no colon", in: "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", err: ErrBadRequest},
	{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", err: ErrBadRequest},
	{name: "ESC in value", in: "GET / HTTP/1.1\r\nHost: h\r\nX: a\x1bb\r\n\r\n", err: ErrBadRequest},
	{name: "DEL in value", in: "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n", err: ErrBadRequest},
	{name: "missing host", in: "GET / HTTP/1.1\r\nX: y\r\n\r\n", err: ErrBadRequest},
	{name: "duplicate host", in: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", err: ErrBadRequest},
	{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\nHost: h\r\n\r\n", err: ErrVersionNotSupported},
	{name: "HTTP/1.2", in: "GET / HTTP/1.2\r\nHost: h\r\n\r\n", err: ErrVersionNotSupported},
	{name: "HTTP/0.9", in: "GET / HTTP/0.9\r\n\r\n", err: ErrVersionNotSupported},
	{name: "lowercase http", in: "GET / http/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "version two digits", in: "GET / HTTP/11.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "version trailing space", in: "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "no version", in: "GET /\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "absolute-form", in: "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "authority-form", in: "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "asterisk with GET", in: "GET * HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "asterisk with more", in: "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "double space", in: "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "fragment in target", in: "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "control in target", in: "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "utf8 in target", in: "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "control in method", in: "G\x00T / HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "empty method", in: " / HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrBadRequest},
	{name: "TLS hello", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", err: ErrBadRequest},
	{name: "oversized head", in: "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", err: ErrHeaderTooLarge},
	{name: "head one over limit", in: "GET / HTTP/1.1\r\nHost: h\r\n\r\n", lim: Limits{MaxHeaderBytes: 26}, err: ErrHeaderTooLarge},
	{name: "leading CRLFs count", in: strings.Repeat("\r\n", 20) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", lim: Limits{MaxHeaderBytes: 50}, err: ErrHeaderTooLarge},
	{name: "too many headers", in: manyHeaders(65), err: ErrTooManyHeaders},
	{name: "too many headers custom", in: manyHeaders(3), lim: Limits{MaxHeaders: 2}, err: ErrTooManyHeaders},
	{name: "target too long", in: "GET /" + strings.Repeat("a", 4096) + " HTTP/1.1\r\nHost: h\r\n\r\n", err: ErrURITooLong},
	{name: "target at limit", in: "GET /abc HTTP/1.1\r\nHost: h\r\n\r\n", lim: Limits{MaxTargetBytes: 3}, err: ErrURITooLong},
}

func checkReq(t *testing.T, tc reqCase, r *Request, n int, err error) {
	t.Helper()
	if tc.err != nil {
		if !errors.Is(err, tc.err) || n != 0 {
			t.Fatalf("got n=%d err=%v, want n=0 err=%v", n, err, tc.err)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	wantN := tc.n
	if wantN < 0 {
		wantN = len(tc.in)
	}
	if n != wantN {
		t.Fatalf("n = %d, want %d", n, wantN)
	}
	w := tc.want
	if string(r.Method) != w.method || string(r.Target) != w.target || string(r.Path) != w.path {
		t.Errorf("method/target/path = %q %q %q, want %q %q %q", r.Method, r.Target, r.Path, w.method, w.target, w.path)
	}
	if w.noQuery {
		if r.RawQuery != nil {
			t.Errorf("RawQuery = %q, want nil", r.RawQuery)
		}
	} else if r.RawQuery == nil || string(r.RawQuery) != w.query {
		t.Errorf("RawQuery = %q, want %q", r.RawQuery, w.query)
	}
	if r.Minor != w.minor || len(r.Headers) != w.headers || r.ContentLength != w.cl {
		t.Errorf("minor/headers/cl = %d %d %d, want %d %d %d", r.Minor, len(r.Headers), r.ContentLength, w.minor, w.headers, w.cl)
	}
	if r.Chunked != w.chunked || r.KeepAlive != w.keepAlive || r.Upgrade != w.upgrade {
		t.Errorf("chunked/keepalive/upgrade = %v %v %v, want %v %v %v", r.Chunked, r.KeepAlive, r.Upgrade, w.chunked, w.keepAlive, w.upgrade)
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range reqCases {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(tc.in), &r, tc.lim)
			checkReq(t, tc, &r, n, err)
		})
	}
}

// TestParseRequestByteAtATime feeds every prefix of every case: each must
// give ErrNeedMore or the final error, and the full input the same result
// as parsing it whole.
func TestParseRequestByteAtATime(t *testing.T) {
	for _, tc := range reqCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			var r Request
			wantN, wantErr := ParseRequest(in, &r, tc.lim)
			for i := 0; i < len(in); i++ {
				n, err := ParseRequest(in[:i], &r, tc.lim)
				if err == nil {
					if wantErr != nil || n != wantN {
						t.Fatalf("prefix %d: n=%d err=nil, whole gives n=%d err=%v", i, n, wantN, wantErr)
					}
					checkReq(t, tc, &r, n, err)
					return
				}
				if n != 0 {
					t.Fatalf("prefix %d: n=%d with err %v", i, n, err)
				}
				if err != ErrNeedMore {
					if err != wantErr {
						t.Fatalf("prefix %d: err=%v, whole gives %v", i, err, wantErr)
					}
					return
				}
			}
			n, err := ParseRequest(in, &r, tc.lim)
			checkReq(t, tc, &r, n, err)
		})
	}
}

func TestParseRequestEarlyReject(t *testing.T) {
	for _, in := range []string{"G\x01", "GET x", "GET / HTTP/2x", "GET / HTTP/1.1\r\n ", "GET / HTTP/1.1\r\nA B", "\r\r", "GET / HTTP/1.1\n"} {
		var r Request
		if _, err := ParseRequest([]byte(in), &r, Limits{}); err == ErrNeedMore || err == nil {
			t.Errorf("%q: err=%v, want an early rejection", in, err)
		}
	}
}

func TestRequestHeaderAndReuse(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte(chromeUpgrade), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := string(r.Header("sec-websocket-key")); got != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Errorf("Header = %q", got)
	}
	if r.Header("X-Missing") != nil {
		t.Error("missing header not nil")
	}
	if got := string(r.Header("Accept-Encoding")); got != "gzip, deflate, br, zstd" {
		t.Errorf("Header = %q", got)
	}
	if _, err := ParseRequest([]byte(sseGET), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	if r.Header("Sec-WebSocket-Key") != nil || r.Upgrade || len(r.Headers) != 5 {
		t.Errorf("state leaked between parses: %+v", r)
	}
	var x Request
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: h\r\nX-A: \t a b \t\r\n\r\n"), &x, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := string(x.Header("x-a")); got != "a b" {
		t.Errorf("trimmed value = %q", got)
	}
}
