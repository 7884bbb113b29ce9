package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every pre-upgrade failure gets its documented status and a short body.
func TestHTTPErrorStatuses(t *testing.T) {
	srv := startServer(t, Config{MaxHeaderBytes: 1024, MaxBodyBytes: 64})
	up := func(edit func(string) string) string { return edit(upgradeRequest) }
	cases := []struct {
		name    string
		request string
		status  int
	}{
		{"plain GET on /ws", "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 426},
		{"wrong websocket version", up(func(s string) string { return strings.Replace(s, "Version: 13", "Version: 8", 1) }), 426},
		{"bad key", up(func(s string) string { return strings.Replace(s, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1) }), 400},
		{"upgrade with POST", up(func(s string) string { return strings.Replace(s, "GET", "POST", 1) }), 400},
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"wrong method", "GET /api/publish HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 2000) + "\r\n\r\n", 431},
		{"body too large", "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n" + strings.Repeat("a", 65), 413},
		{"CL and TE together", "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400},
		{"missing Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"gzip transfer-encoding", "POST /api/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv.Addr())
			r.write([]byte(tc.request))
			status, body := r.readResponse()
			if status != tc.status {
				t.Fatalf("status %d, want %d (body %q)", status, tc.status, body)
			}
			if body == "" {
				t.Fatalf("empty body for %d", status)
			}
		})
	}
}

func TestKeepAliveAndPipelining(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv.Addr())
	r.write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	for i, want := range []int{200, 404, 200} {
		if status, _ := r.readResponse(); status != want {
			t.Fatalf("response %d: status %d, want %d", i, status, want)
		}
	}
	r.expectEOF() // Connection: close honoured
}

func TestPublishAPIAuth(t *testing.T) {
	// The body cap is above the message cap so an oversized payload is
	// refused by Publish (413) after the whole body was read.
	srv := startServer(t, Config{APIKey: "secret", MaxBodyBytes: 256 << 10})
	body := `{"channel":"news","data":{"title":"x"}}`
	if status, _ := httpPublish(t, srv.Addr(), "", body); status != 401 {
		t.Fatalf("no key: status %d, want 401", status)
	}
	if status, _ := httpPublish(t, srv.Addr(), "wrong", body); status != 401 {
		t.Fatalf("wrong key: status %d, want 401", status)
	}
	c := dialWS(t, srv.Addr())
	c.subscribe("news")
	status, resp := httpPublish(t, srv.Addr(), "secret", body)
	if status != 200 || !strings.HasPrefix(resp, `{"seq":1,"epoch":"`) {
		t.Fatalf("status %d body %s", status, resp)
	}
	c.expect(map[string]any{"op": "msg", "ch": "news", "seq": 1, "data": map[string]any{"title": "x"}})

	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"channel":"news"}`, 400},
		{`{"channel":"bad name","data":1}`, 400},
		{`not json`, 400},
		{`{"channel":"news","data":"` + strings.Repeat("x", 70000) + `"}`, 413},
	} {
		if status, resp := httpPublish(t, srv.Addr(), "secret", bad.body); status != bad.status {
			t.Errorf("body %.40s: status %d (%s), want %d", bad.body, status, resp, bad.status)
		}
	}
}

// Without a key the API is closed, even to loopback clients: behind a
// reverse proxy on the same host every client looks like loopback. Only
// an explicit InsecureAPI opens it (make run does, for the demo).
func TestAPIKeyRequired(t *testing.T) {
	srv := startServerExact(t, Config{})
	status, body := httpPublish(t, srv.Addr(), "", `{"channel":"a","data":1}`)
	if status != 401 {
		t.Fatalf("publish without a configured key: status %d, want 401", status)
	}
	errBody(t, []byte(body), 401)
	open := startServerExact(t, Config{InsecureAPI: true})
	if status, body := httpPublish(t, open.Addr(), "", `{"channel":"a","data":1}`); status != 200 {
		t.Fatalf("publish with InsecureAPI: %d %s, want 200", status, body)
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	keyed := startServerExact(t, Config{APIKey: "k"})
	req, _ := http.NewRequest("POST", "http://"+keyed.Addr()+"/api/publish", strings.NewReader(`{"channel":"a","data":1}`))
	req.Header.Set("Authorization", "bEaReR k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("lower-case scheme: status %d, want 200", resp.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	srv := startServer(t, Config{})
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}
}

// A request head that trickles in (slowloris) is answered 408 and closed
// at the handshake deadline; an idle keep-alive connection just closes.
func TestHandshakeTimeout(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, HandshakeTimeout: 200 * time.Millisecond})
	slow := dialRaw(t, srv.Addr())
	slow.write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n"))
	if status, _ := slow.readResponse(); status != 408 {
		t.Fatalf("status %d, want 408", status)
	}
	slow.expectEOF()

	idle := dialRaw(t, srv.Addr())
	idle.expectEOF()
}

func TestStaticAssetsAndNoWebSocket(t *testing.T) {
	srv := startServer(t, Config{NoWebSocket: true})
	resp, err := http.Get("http://" + srv.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "<") {
		t.Fatalf("GET /: %d %s %.60q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	r := dialRaw(t, srv.Addr())
	r.write([]byte(upgradeRequest))
	if status, _ := r.readResponse(); status != 503 {
		t.Fatalf("upgrade with NoWebSocket: status %d, want 503", status)
	}
}

// A client still sending an oversized body keeps being read after the 413:
// closing with its data unread would make the kernel send a reset, which
// on a real network can destroy the 413 before the client reads it. So the
// server swallows what arrives until the client closes or CloseTimeout
// ends (lingering close), then closes.
func TestOversizedBodyLingeringClose(t *testing.T) {
	srv := startServer(t, Config{MaxBodyBytes: 1024, CloseTimeout: 500 * time.Millisecond, Tick: 10 * time.Millisecond})
	r := dialRaw(t, srv.Addr())
	r.write([]byte("POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"))
	if status, _ := r.readResponse(); status != 413 {
		t.Fatalf("status %d, want 413", status)
	}
	// The body keeps coming after the answer: the server must still read it.
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 16; i++ {
		_ = r.c.SetWriteDeadline(time.Now().Add(readTimeout))
		if _, err := r.c.Write(chunk); err != nil {
			t.Fatalf("write %d after the 413 failed (the server closed at once): %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Then it closes by itself, at the linger deadline.
	r.expectEOF()
	if n := srv.Stats().Closed["message too big"]; n != 1 {
		t.Fatalf("closed as too big %d times, want 1: %+v", n, srv.Stats())
	}
}

// The API body is decoded strictly: a wrong type, a null data, a key in
// another case, trailing bytes or invalid data are 400s with the usage
// line or the data's own reason; the node goes on publishing.
func TestAPIBodyIsStrict(t *testing.T) {
	srv := startServer(t, Config{})
	for _, tc := range []struct{ body, reason string }{
		{`{"channel":"a","data":null}`, "body must be"},
		{`{"channel":"a","Data":1}`, "body must be"},
		{`{"channel":["a"],"data":1}`, "body must be"},
		{`{"channel":"a","data":1} {}`, "body must be"},
		{`{"channels":["a",2],"data":1}`, "body must be"},
		{`{"channel":"a","data":1e400}`, "number out of range"},
		{"{\"channel\":\"a\",\"data\":\"\xff\"}", "utf-8"},
		// One list past the 1,000 targets a call may name: refused while
		// decoding, before any name is checked or kept.
		{`{"channels":["a"` + strings.Repeat(`,"a"`, maxAPITargets) + `],"data":1}`, "body must be"},
	} {
		status, body := httpPublish(t, srv.Addr(), "", tc.body)
		if status != 400 || !strings.Contains(strings.ToLower(body), strings.ToLower(tc.reason)) {
			t.Errorf("%.80q: %d %s, want 400 with %q", tc.body, status, body, tc.reason)
		}
	}
	if status, body := httpPublish(t, srv.Addr(), "", `{ "channel" : "a" , "data" : { "x" : [ 1 , 2 ] } }`); status != 200 {
		t.Fatalf("a valid body after the refused ones: %d %s", status, body)
	}
}
