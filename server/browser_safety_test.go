package server

import (
	"strings"
	"testing"
	"time"
)

// Browser-facing answers: every answer says nosniff; HTML says who may
// frame it; HTTP/1.0 keep-alive is announced; a huge wait is clamped, not
// overflowed; epochs have one length limit on every transport.

func TestEveryAnswerSaysNosniff(t *testing.T) {
	srv := startServer(t, Config{})
	addr := srv.Addr()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200}, {"GET", "/comet.js", 200}, {"GET", "/nowhere", 404},
		{"PUT", "/poll?ch=a", 405}, {"GET", "/poll?ch=bad%20name", 400}, {"GET", "/poll?ch=a&wait=0", 200},
		{"POST", "/api/publish", 400}, {"GET", "/healthz", 200}, {"GET", "/ws", 426},
	} {
		status, hdr, _ := trDo(t, tc.method, "http://"+addr+tc.path, "")
		if status != tc.status || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d, nosniff %q; want %d and nosniff", tc.method, tc.path, status, hdr.Get("X-Content-Type-Options"), tc.status)
		}
	}
	// The connection-level refusals too (a malformed request head).
	r := dialRaw(t, addr)
	r.write([]byte("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"))
	resp, _ := r.fullResponse()
	if resp.StatusCode != 400 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("malformed head: %d %v", resp.StatusCode, resp.Header)
	}
}

// Pages may be framed by this origin only; the iframe transport's page
// also by the allowed origins, which it may postMessage to.
func TestFrameAncestors(t *testing.T) {
	srv := startServer(t, Config{AllowedOrigins: []string{"https://app.example"}})
	addr := srv.Addr()
	_, hdr, _ := trDo(t, "GET", "http://"+addr+"/", "")
	if hdr.Get("X-Frame-Options") != "SAMEORIGIN" || hdr.Get("Content-Security-Policy") != "frame-ancestors 'self'" {
		t.Fatalf("demo page framing headers: %v", hdr)
	}
	resp, lr := openStreamHTTP(t, trURL(addr, "/iframe", "ch", "f", "cb", "__comet1_1_1", "origin", "https://app.example"))
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" ||
		resp.Header.Get("Content-Security-Policy") != "frame-ancestors 'self' https://app.example" {
		t.Fatalf("iframe page: %d %v", resp.StatusCode, resp.Header)
	}
	// Cross-origin: each event is posted to the page's origin only.
	var line string
	for {
		l, err := lr.line()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "<script>") {
			line = l
			break
		}
	}
	if !strings.HasPrefix(line, `<script>parent.postMessage({"comet":"__comet1_1_1","ev":{"op":"open"`) ||
		!strings.HasSuffix(line, `},"https://app.example");</script>`) {
		t.Fatalf("cross-origin open event: %q", line)
	}
	// An origin that is not allowed, or not an origin, is refused.
	for _, o := range []string{"https://evil.example", "javascript:alert(1)", `https://a.example");alert("`} {
		if status, _, _ := trDo(t, "GET", trURL(addr, "/iframe", "ch", "f", "cb", "__comet1", "origin", o), ""); status != 400 {
			t.Errorf("iframe origin %q: status %d, want 400", o, status)
		}
	}
}

// An HTTP/1.0 client that asks to keep its connection is told it is kept.
func TestHTTP10KeepAliveIsAnnounced(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv.Addr())
	for range 2 { // the connection really is kept: two requests on it
		r.write([]byte("GET /poll?ch=a&wait=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
		resp, _ := r.fullResponse()
		if resp.StatusCode != 200 || !strings.EqualFold(resp.Header.Get("Connection"), "keep-alive") {
			t.Fatalf("HTTP/1.0 keep-alive poll: %d Connection %q", resp.StatusCode, resp.Header.Get("Connection"))
		}
	}
}

// A wait beyond any duration is the longest hold, not an overflow that
// answers at once (before: wait=9223372037 answered in 0.09 s).
func TestHugeWaitIsClampedNotOverflowed(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	for _, wait := range []string{"9223372037", "99999999999999999999999"} {
		parked := srv.Stats().PollsParked
		done := asyncPoll(addr, "ch", "clamp"+wait[:3], "wait", wait)
		waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked > parked })
		select {
		case r := <-done:
			t.Fatalf("wait=%s answered at once: %+v", wait, r)
		default:
		}
		mustPublish(t, srv, "clamp"+wait[:3], 1)
		if r := awaitPoll(t, done); len(r.a.Msgs) != 1 {
			t.Fatalf("wait=%s: the parked poll answered %s", wait, r.a.Raw)
		}
	}
	if status, _, _ := trDo(t, "GET", trURL(addr, "/poll", "ch", "a", "wait", "-1"), ""); status != 400 {
		t.Fatalf("wait=-1: %d, want 400", status)
	}
}

// An epoch longer than cursors allow is refused on the WebSocket too.
func TestEpochLimitOnEveryTransport(t *testing.T) {
	srv := startServer(t, Config{})
	c := dialWS(t, srv.Addr())
	long := strings.Repeat("e", 33)
	c.send(`{"op":"sub","ch":"a","since":1,"epoch":"` + long + `","id":"x"}`)
	c.expect(map[string]any{"op": "err", "id": "x", "code": 400})
	if status, _, _ := trDo(t, "GET", trURL(srv.Addr(), "/poll", "ch", "a~"+long+"~1", "wait", "0"), ""); status != 400 {
		t.Fatalf("poll with a long epoch: %d, want 400", status)
	}
}
