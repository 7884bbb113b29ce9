package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// POST /send, keep-alive and pipelining around parked polls, CORS, and
// every transport on one channel at once. Poll, SSE, stream and iframe
// specifics are in transport_poll_test.go and transport_stream_test.go.

// POST /send answers what the WebSocket would: ok with the seq, pong, or
// an err with the protocol's code (HTTP 200 all the same); a body over
// MaxBodyBytes is HTTP 413 and GET is 405.
func TestSendPubPingAndErrors(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, MaxMessageBytes: 1024, MaxBodyBytes: 4096})
	addr := srv.Addr()
	sendURL := "http://" + addr + "/send"
	sub := dialWS(t, addr)
	sub.subscribe("room")
	c0 := mustPoll(t, addr, "ch", "room", "wait", "0")
	done := asyncPoll(addr, "cursor", c0.Cursor)
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == 1 })

	status, hdr, body := trDo(t, "POST", sendURL, `{"op":"pub","ch":"room","data":{ "a" : [1, 2] },"id":"p1"}`,
		"Content-Type", "application/json")
	if status != 200 || hdr.Get("Content-Type") != "application/json" || string(body) != `{"op":"ok","id":"p1","seq":1}` {
		t.Fatalf("send pub: %d %q %s", status, hdr.Get("Content-Type"), body)
	}
	sub.expect(map[string]any{"op": "msg", "ch": "room", "seq": 1, "data": map[string]any{"a": []any{1, 2}}})
	r := awaitPoll(t, done)
	if len(r.a.Msgs) != 1 || r.a.Msgs[0].Seq != 1 || string(r.a.Msgs[0].Data) != `{"a":[1,2]}` {
		t.Fatalf("poll after send: %s", r.a.Raw)
	}

	// curl, as in docs/PROTOCOL.md.
	cr := mustCurl(t, "-XPOST", sendURL, "-d", `{"op":"pub","ch":"room","data":"hi","id":"1"}`)
	if cr.Status != 200 || cr.Body != `{"op":"ok","id":"1","seq":2}` {
		t.Fatalf("curl send: %d %q", cr.Status, cr.Body)
	}
	sub.expect(map[string]any{"op": "msg", "seq": 2, "data": "hi"})
	// Without an id the ok still carries the seq.
	if _, _, body := trDo(t, "POST", sendURL, `{"op":"pub","ch":"room","data":3}`); string(body) != `{"op":"ok","seq":3}` {
		t.Fatalf("send pub without id: %s", body)
	}
	sub.expect(map[string]any{"op": "msg", "seq": 3})

	if status, _, body := trDo(t, "POST", sendURL, `{"op":"ping","id":"x"}`); status != 200 || string(body) != `{"op":"pong","id":"x"}` {
		t.Fatalf("ping: %d %s", status, body)
	}

	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"sub", `{"op":"sub","ch":"room","id":"s"}`, 400},
		{"unsub", `{"op":"unsub","ch":"room","id":"u"}`, 400},
		{"not JSON", `{"op":"pub",`, 400},
		{"empty body", ``, 400},
		{"unknown op", `{"op":"nope"}`, 400},
		{"bad channel", `{"op":"pub","ch":"no spaces","data":1}`, 400},
		{"pub without data", `{"op":"pub","ch":"room"}`, 400},
		{"null data", `{"op":"pub","ch":"room","data":null}`, 400},
		{"id too long", `{"op":"ping","id":"` + strings.Repeat("i", 65) + `"}`, 400},
		{"data over MaxMessageBytes", `{"op":"pub","ch":"room","data":"` + strings.Repeat("x", 2000) + `","id":"big"}`, 413},
	} {
		status, _, body := trDo(t, "POST", sendURL, tc.body)
		if status != 200 {
			t.Errorf("%s: HTTP %d, want 200 with an err body (%s)", tc.name, status, body)
			continue
		}
		errBody(t, body, tc.code)
	}
	// An err echoes the id.
	if _, _, body := trDo(t, "POST", sendURL, `{"op":"sub","ch":"room","id":"s9"}`); !strings.Contains(string(body), `"id":"s9"`) {
		t.Fatalf("err without the request's id: %s", body)
	}

	// A body over MaxBodyBytes: 413 and the connection closes.
	c := dialRaw(t, addr)
	c.write([]byte("POST /send HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"))
	if status, _ := c.readResponse(); status != 413 {
		t.Fatalf("oversized body: status %d, want 413", status)
	}
	c.expectEOF()
	// GET /send: 405 with Allow.
	status, hdr, _ = trDo(t, "GET", sendURL, "")
	if status != 405 || !strings.Contains(hdr.Get("Allow"), "POST") {
		t.Fatalf("GET /send: %d Allow %q", status, hdr.Get("Allow"))
	}
	if n := srv.Stats().Published; n != 3 {
		t.Fatalf("%d messages published, want 3 (no failed send may publish)", n)
	}
}

// Requests pipelined on one connection are answered in order, including
// behind a parked poll, whose answer comes first; Connection: close is
// honoured after a poll's answer.
func TestTransportPipelining(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	send := `{"op":"pub","ch":"pl","data":2,"id":"a"}`
	mustPublish(t, srv, "pl", 1) // history keeps the channel and its epoch
	c := dialRaw(t, addr)
	c.write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /poll?ch=pl&wait=0 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /send HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(send)) + "\r\n\r\n" + send +
		"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" +
		"OPTIONS /poll HTTP/1.1\r\nHost: x\r\nOrigin: https://o.example\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	if resp, body := c.fullResponse(); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("1st: %d %q", resp.StatusCode, body)
	}
	resp, body := c.fullResponse()
	a, err := decodePollAnswer([]byte(body))
	if err != nil || resp.StatusCode != 200 || len(a.Msgs) != 0 {
		t.Fatalf("2nd (short poll): %d %s %v", resp.StatusCode, body, err)
	}
	if resp, body := c.fullResponse(); resp.StatusCode != 200 || body != `{"op":"ok","id":"a","seq":2}` {
		t.Fatalf("3rd (send): %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.fullResponse(); resp.StatusCode != 404 {
		t.Fatalf("4th: %d", resp.StatusCode)
	}
	if resp, _ := c.fullResponse(); resp.StatusCode != 204 {
		t.Fatalf("5th (preflight): %d", resp.StatusCode)
	}
	if resp, body := c.fullResponse(); resp.StatusCode != 200 || body != "ok\n" || resp.Close {
		t.Fatalf("6th: %d %q", resp.StatusCode, body)
	}
	// The send came after the poll: the next poll gets it.
	c.get("/poll?wait=0&cursor=" + a.Cursor)
	_, body = c.fullResponse()
	b, err := decodePollAnswer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	checkMsgs(t, b.Msgs, "pl", 2, 2, true)
	cursor := b.Cursor

	// A parked poll with a request pipelined behind it in the same write,
	// then with one written while it is parked: the poll's answer comes
	// first, the next request is answered after it, on the same socket.
	for i, split := range []bool{false, true} {
		parked := srv.Stats().PollsParked
		pollReq := "GET /poll?cursor=" + cursor + " HTTP/1.1\r\nHost: x\r\n\r\n"
		next := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		if split {
			c.write([]byte(pollReq))
		} else {
			c.write([]byte(pollReq + next))
		}
		waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == parked+1 })
		if split {
			c.write([]byte(next))
		}
		// Nothing may be answered while the poll is parked (a bounded
		// negative check, not a synchronisation).
		_ = c.c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		if _, err := c.br.Peek(1); err == nil {
			t.Fatalf("case %d: something was answered while the poll was parked", i)
		}
		mustPublish(t, srv, "pl", 3+i)
		resp, body := c.fullResponse()
		p, err := decodePollAnswer([]byte(body))
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("case %d: parked poll: %d %s %v", i, resp.StatusCode, body, err)
		}
		checkMsgs(t, p.Msgs, "pl", uint64(3+i), uint64(3+i), true)
		cursor = p.Cursor
		if resp, body := c.fullResponse(); resp.StatusCode != 200 || body != "ok\n" {
			t.Fatalf("case %d: request behind the poll: %d %q", i, resp.StatusCode, body)
		}
	}

	// Connection: close on a parked poll: answered, then closed.
	cc := dialRaw(t, addr)
	parked := srv.Stats().PollsParked
	cc.get("/poll?cursor="+cursor, "Connection", "close")
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == parked+1 })
	mustPublish(t, srv, "pl", 5)
	if resp, body := cc.fullResponse(); resp.StatusCode != 200 || !resp.Close || !strings.Contains(body, `"seq":5`) {
		t.Fatalf("Connection: close poll: %d close=%v %s", resp.StatusCode, resp.Close, body)
	}
	cc.expectEOF()
	// And on an answered-at-once poll, and an HTTP/1.0 one.
	for _, req := range []string{
		"GET /poll?ch=pl&wait=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /poll?ch=pl&wait=0 HTTP/1.0\r\nHost: x\r\n\r\n",
	} {
		cc := dialRaw(t, addr)
		cc.write([]byte(req))
		if resp, _ := cc.fullResponse(); resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("%q: %d close=%v", req, resp.StatusCode, resp.Close)
		}
		cc.expectEOF()
	}

	// net/http reuses one keep-alive connection for a chain of polls.
	accepted := srv.Stats().Accepted
	for range 5 {
		mustPoll(t, addr, "ch", "pl", "wait", "0")
	}
	if n := srv.Stats().Accepted - accepted; n != 1 {
		t.Fatalf("5 sequential polls used %d connections", n)
	}
}

// CORS: preflights get 204 with the origin, methods and headers; with
// AllowedOrigins set, an allowed origin is echoed on every transport and
// another gets 403.
func TestCORSPreflightAndOrigins(t *testing.T) {
	const good, evil = "https://good.example", "https://evil.example"
	open := startServer(t, Config{Tick: 10 * time.Millisecond})
	status, hdr, _ := trDo(t, "OPTIONS", "http://"+open.Addr()+"/poll?ch=a", "",
		"Origin", "https://any.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "last-event-id")
	checkPreflight(t, "open server", status, hdr, "https://any.example")
	if _, hdr, _ := trDo(t, "GET", trURL(open.Addr(), "/poll", "ch", "a", "wait", "0"), "", "Origin", "https://any.example"); hdr.Get("Access-Control-Allow-Origin") != "https://any.example" {
		t.Fatalf("open server: poll ACAO %q", hdr.Get("Access-Control-Allow-Origin"))
	}

	srv := startServer(t, Config{Tick: 10 * time.Millisecond, AllowedOrigins: []string{good}})
	addr := srv.Addr()
	for _, path := range []string{"/poll", "/sse", "/stream", "/iframe", "/send"} {
		status, hdr, _ := trDo(t, "OPTIONS", "http://"+addr+path+"?ch=a", "", "Origin", good,
			"Access-Control-Request-Method", "POST")
		checkPreflight(t, path, status, hdr, good)
		if status, _, _ := trDo(t, "OPTIONS", "http://"+addr+path+"?ch=a", "", "Origin", evil); status != 403 {
			t.Errorf("preflight %s from a disallowed origin: %d, want 403", path, status)
		}
	}

	acao := func(what string, h http.Header) {
		t.Helper()
		if h.Get("Access-Control-Allow-Origin") != good || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("%s: ACAO %q Vary %q", what, h.Get("Access-Control-Allow-Origin"), h.Get("Vary"))
		}
	}
	status, hdr, _ = trDo(t, "GET", trURL(addr, "/poll", "ch", "a", "wait", "0"), "", "Origin", good)
	if status != 200 {
		t.Fatalf("poll from an allowed origin: %d", status)
	}
	acao("poll", hdr)
	// A parked poll's answer carries it too.
	done := make(chan http.Header, 1)
	go func() {
		req, _ := http.NewRequest("GET", trURL(addr, "/poll", "ch", "a"), nil)
		req.Header.Set("Origin", good)
		resp, err := trHTTP.Do(req)
		if err != nil {
			done <- nil
			return
		}
		resp.Body.Close()
		done <- resp.Header
	}()
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == 1 })
	mustPublish(t, srv, "a", 1)
	select {
	case h := <-done:
		if h == nil {
			t.Fatal("parked poll failed")
		}
		acao("parked poll", h)
	case <-time.After(10 * time.Second):
		t.Fatal("parked poll not answered")
	}
	status, hdr, _ = trDo(t, "POST", "http://"+addr+"/send", `{"op":"ping"}`, "Origin", good)
	if status != 200 {
		t.Fatalf("send from an allowed origin: %d", status)
	}
	acao("send", hdr)
	for _, path := range []string{"/sse", "/stream", "/iframe"} {
		resp, _ := openStreamHTTP(t, trURL(addr, path, "ch", "a", "cb", "__comet1"), "Origin", good)
		if resp.StatusCode != 200 {
			t.Fatalf("%s from an allowed origin: %d", path, resp.StatusCode)
		}
		acao(path, resp.Header)
		resp.Body.Close()
	}
	// Errors are readable by the page too.
	status, hdr, _ = trDo(t, "GET", trURL(addr, "/poll", "ch", "bad name"), "", "Origin", good)
	if status != 400 {
		t.Fatalf("bad poll: %d", status)
	}
	acao("400 on a bad channel", hdr)

	// A disallowed origin gets 403 everywhere, even with an otherwise bad
	// request; no Origin at all (not a browser) is served without CORS.
	for _, u := range []string{
		trURL(addr, "/poll", "ch", "a", "wait", "0"),
		trURL(addr, "/sse", "ch", "a"),
		trURL(addr, "/stream", "ch", "a"),
		trURL(addr, "/iframe", "ch", "a", "cb", "__comet1"),
	} {
		if status, hdr, _ := trDo(t, "GET", u, "", "Origin", evil); status != 403 || hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s from a disallowed origin: %d ACAO %q", u, status, hdr.Get("Access-Control-Allow-Origin"))
		}
	}
	if status, _, _ := trDo(t, "POST", "http://"+addr+"/send", `{"op":"pub","ch":"a","data":1}`, "Origin", evil); status != 403 {
		t.Errorf("send from a disallowed origin: %d", status)
	}
	status, hdr, _ = trDo(t, "GET", trURL(addr, "/poll", "ch", "a", "wait", "0"), "")
	if status != 200 || hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("poll without Origin: %d ACAO %q", status, hdr.Get("Access-Control-Allow-Origin"))
	}
	if n := srv.Stats().Published; n != 1 {
		t.Fatalf("%d published: the refused send went through", n)
	}
}

// A poll with a bad wait is answered like every other bad poll: 400 with
// the CORS header for an allowed origin (so the page can read the error),
// 403 for a disallowed one.
func TestCORSOnBadPollWait(t *testing.T) {
	const good, evil = "https://good.example", "https://evil.example"
	srv := startServer(t, Config{AllowedOrigins: []string{good}})
	u := trURL(srv.Addr(), "/poll", "ch", "a", "wait", "x")
	status, hdr, body := trDo(t, "GET", u, "", "Origin", good)
	if status != 400 || hdr.Get("Access-Control-Allow-Origin") != good {
		t.Errorf("bad wait from an allowed origin: %d ACAO %q (%s), want 400 with ACAO %q",
			status, hdr.Get("Access-Control-Allow-Origin"), body, good)
	}
	if status, _, body := trDo(t, "GET", u, "", "Origin", evil); status != 403 {
		t.Errorf("bad wait from a disallowed origin: %d (%s), want 403", status, body)
	}
}

func checkPreflight(t *testing.T, what string, status int, hdr http.Header, origin string) {
	t.Helper()
	methods := hdr.Get("Access-Control-Allow-Methods")
	headers := strings.ToLower(hdr.Get("Access-Control-Allow-Headers"))
	if status != 204 || hdr.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(methods, "GET") || !strings.Contains(methods, "POST") ||
		!strings.Contains(headers, "last-event-id") || !strings.Contains(headers, "content-type") {
		t.Errorf("preflight %s: %d %v", what, status, hdr)
	}
}

// The mixed test: one channel with a WebSocket, a chain of long-polls, an
// SSE stream (curl), a chunked stream (net/http) and an iframe (raw
// socket) subscribed at once; three publishers (backend API, WebSocket
// pub, POST /send) publish concurrently; all five subscribers receive the
// same messages, with the seqs the publishers were told, in seq order.
func TestMixedTransportsSameOrder(t *testing.T) {
	const perPublisher = 67 // 201 in all
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, HistorySize: 1000, PollBatch: 50})
	addr := srv.Addr()
	const ch = "mixed"

	ws := dialWS(t, addr)
	epoch := ws.subscribe(ch)["epoch"].(string)

	sse := startCurlStream(t, trURL(addr, "/sse", "ch", ch))
	if code, h, err := sse.head(); err != nil || code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("curl sse: %d %v", code, err)
	}
	if _, _, err := sse.sseOpen(); err != nil {
		t.Fatal(err)
	}
	streamResp, stream := openStreamHTTP(t, trURL(addr, "/stream", "ch", ch))
	if streamResp.StatusCode != 200 {
		t.Fatalf("stream: %d", streamResp.StatusCode)
	}
	if m, _, err := stream.ndjsonLine(); err != nil || m["op"] != "open" {
		t.Fatalf("stream open: %v %v", m, err)
	}
	ifc := dialRaw(t, addr)
	ifc.get("/iframe?ch=" + ch + "&cb=__comet7_7_7")
	if code, _ := ifc.streamHead(); code != 200 {
		t.Fatalf("iframe: %d", code)
	}
	iframe := &iframeReader{lr: ifc.lines(), cb: "__comet7_7_7"}
	if err := iframe.readHead(); err != nil {
		t.Fatal(err)
	}
	if _, err := iframe.open(); err != nil {
		t.Fatal(err)
	}
	// (The counter moves just after the open event is written.)
	waitUntil(t, "three streams", func() bool { return srv.Stats().Streams == 3 })

	const total = 3 * perPublisher
	type rec struct {
		seq  uint64
		data string
	}
	type result struct {
		name string
		got  []rec
		err  error
	}
	results := make(chan result, 5)
	reader := func(name string, next func() (trMsg, error)) {
		go func() {
			var got []rec
			for len(got) < total {
				m, err := next()
				if err != nil {
					results <- result{name, got, err}
					return
				}
				if m.Ch != ch {
					results <- result{name, got, fmt.Errorf("message on channel %q", m.Ch)}
					return
				}
				got = append(got, rec{m.Seq, canonJSON(m.Data)})
			}
			results <- result{name, got, nil}
		}()
	}
	reader("websocket", func() (trMsg, error) {
		_ = ws.c.SetReadDeadline(time.Now().Add(readTimeout))
		p, err := ws.readMsg()
		var m trMsg
		if err == nil {
			err = json.Unmarshal(p, &m)
		}
		return m, err
	})
	reader("sse (curl)", func() (trMsg, error) { _, m, err := sse.sseMsg(); return m, err })
	reader("stream (net/http)", func() (trMsg, error) { return stream.streamMsg(stream.ndjsonLine) })
	reader("iframe (raw)", iframe.msg)
	var pending []trMsg
	cursor := ch + "~" + epoch + "~0"
	reader("long-poll chain", func() (trMsg, error) {
		for len(pending) == 0 {
			a, err := doPoll(addr, "cursor", cursor, "wait", "5")
			if err != nil {
				return trMsg{}, err
			}
			if a.Gap != nil {
				return trMsg{}, fmt.Errorf("gap %v", a.Gap)
			}
			pending, cursor = a.Msgs, a.Cursor
		}
		m := pending[0]
		pending = pending[1:]
		return m, nil
	})

	// Three publishers at once; each records the seq it was given.
	var mu sync.Mutex
	published := map[uint64]string{}
	record := func(seq uint64, data string) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := published[seq]; dup || seq == 0 {
			return fmt.Errorf("seq %d given twice", seq)
		}
		published[seq] = canonJSON([]byte(data))
		return nil
	}
	pubErrs := make(chan error, 3)
	go func() { // backend API
		for i := range perPublisher {
			data := fmt.Sprintf(`{"from":"api","n":%d}`, i)
			status, body, err := postJSON("http://"+addr+"/api/publish", `{"channel":"`+ch+`","data":`+data+`}`)
			var r struct{ Seq uint64 }
			if err == nil && (status != 200 || json.Unmarshal(body, &r) != nil) {
				err = fmt.Errorf("api publish: %d %s", status, body)
			}
			if err == nil {
				err = record(r.Seq, data)
			}
			if err != nil {
				pubErrs <- err
				return
			}
		}
		pubErrs <- nil
	}()
	go func() { // POST /send
		for i := range perPublisher {
			data := fmt.Sprintf(`{"from":"send","n":%d,"html":"</script>"}`, i)
			status, body, err := postJSON("http://"+addr+"/send", `{"op":"pub","ch":"`+ch+`","data":`+data+`,"id":"s"}`)
			var r struct {
				Op  string
				Seq uint64
			}
			if err == nil && (status != 200 || json.Unmarshal(body, &r) != nil || r.Op != "ok") {
				err = fmt.Errorf("send: %d %s", status, body)
			}
			if err == nil {
				err = record(r.Seq, data)
			}
			if err != nil {
				pubErrs <- err
				return
			}
		}
		pubErrs <- nil
	}()
	pubWS, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pubWS.Close()
	go func() { // WebSocket pub
		for i := range perPublisher {
			data := fmt.Sprintf("{\"from\":\"ws\",\"n\":%d,\"s\":\"a\u2028b\"}", i) // a raw U+2028
			err := pubWS.WriteMessage(websocket.TextMessage, []byte(`{"op":"pub","ch":"`+ch+`","data":`+data+`,"id":"w"}`))
			var r struct {
				Op  string
				Seq uint64
			}
			if err == nil {
				_ = pubWS.SetReadDeadline(time.Now().Add(readTimeout))
				var p []byte
				if _, p, err = pubWS.ReadMessage(); err == nil && (json.Unmarshal(p, &r) != nil || r.Op != "ok") {
					err = fmt.Errorf("ws pub reply %s", p)
				}
			}
			if err == nil {
				err = record(r.Seq, data)
			}
			if err != nil {
				pubErrs <- err
				return
			}
		}
		pubErrs <- nil
	}()
	for range 3 {
		if err := <-pubErrs; err != nil {
			t.Fatal(err)
		}
	}
	if len(published) != total {
		t.Fatalf("%d seqs given for %d publishes", len(published), total)
	}

	timeout := time.After(20 * time.Second)
	for range 5 {
		var r result
		select {
		case r = <-results:
		case <-timeout:
			t.Fatal("subscribers did not finish within 20s")
		}
		if r.err != nil {
			t.Fatalf("%s after %d messages: %v", r.name, len(r.got), r.err)
		}
		for i, m := range r.got {
			if m.seq != uint64(i+1) {
				t.Fatalf("%s: message %d has seq %d (order, loss or duplicate)", r.name, i, m.seq)
			}
			if m.data != published[m.seq] {
				t.Fatalf("%s: seq %d carries %s, the publisher sent %s", r.name, m.seq, m.data, published[m.seq])
			}
		}
	}
	// Nothing more (a bounded negative check).
	_ = ws.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, p, err := ws.c.ReadMessage(); err == nil {
		t.Fatalf("websocket got an extra message %s", p)
	}
}

// postJSON posts body with net/http; safe off the test goroutine.
func postJSON(u, body string) (int, []byte, error) {
	resp, err := trHTTP.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
