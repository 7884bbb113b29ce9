package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// The streaming transports: SSE, chunked /stream and the iframe
// forever-frame; their slow-consumer budget and their end at shutdown.

// SSE: the headers that keep proxies from buffering, the retry hint, the
// open event, one id (the cursor) per event, and heartbeat comments.
func TestSSEHeadersEventsHeartbeat(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, StreamHeartbeat: 100 * time.Millisecond})
	resp, lr := openStreamHTTP(t, trURL(srv.Addr(), "/sse", "ch", "news"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 {
		t.Errorf("an event stream must be delimited by the close: length %d, TE %v", resp.ContentLength, resp.TransferEncoding)
	}
	cursor, gap, err := lr.sseOpen()
	if err != nil {
		t.Fatal(err)
	}
	_, pos := parseCursor(t, cursor)
	if gap != nil || pos["news"].Seq != 0 {
		t.Fatalf("open cursor %q gap %v", cursor, gap)
	}
	if epoch := pos["news"].Epoch; !strings.HasPrefix(epoch, ".") {
		t.Fatalf("a channel with no stream must open with an empty epoch, got %q", epoch)
	}

	// Idle: a heartbeat comment arrives (StreamHeartbeat 100ms).
	ev, err := lr.event()
	if err != nil || !ev.Comment || ev.HasID || ev.Data != "" {
		t.Fatalf("want a heartbeat comment, got %+v %v", ev, err)
	}
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "news", i)
	}
	// The ids carry the epoch of the stream the first publish began.
	_, st, err := srv.conf().Broker.History(context.Background(), "news", broker.HistoryOptions{}, nil)
	if err != nil || st.Epoch == "" {
		t.Fatalf("no stream after publishing: %+v %v", st, err)
	}
	epoch := st.Epoch
	for i := uint64(1); i <= 3; i++ {
		id, m, err := lr.sseMsg()
		if err != nil {
			t.Fatal(err)
		}
		if m.Ch != "news" || m.Seq != i || string(m.Data) != strconv.FormatUint(i, 10) {
			t.Fatalf("event %d: %+v", i, m)
		}
		if want := fmt.Sprintf("news~%s~%d", epoch, i); id != want {
			t.Fatalf("event %d id %q, want %q", i, id, want)
		}
	}
	// Heartbeats go on after messages.
	for {
		ev, err := lr.event()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Comment {
			break
		}
		t.Fatalf("unexpected event %+v", ev)
	}
}

// A client that reconnects with Last-Event-ID (as EventSource does) gets
// exactly what was published while it was away, then live messages: no
// loss, no duplicate. The first connection is a raw socket, the second
// curl.
func TestSSEReconnectLastEventID(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	c := dialRaw(t, addr)
	c.get("/sse?ch=room")
	if code, h := c.streamHead(); code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d %v", code, h)
	}
	lr := c.lines()
	if _, _, err := lr.sseOpen(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "room", i)
	}
	var lastID string
	for i := uint64(1); i <= 3; i++ {
		id, m, err := lr.sseMsg()
		if err != nil || m.Seq != i {
			t.Fatalf("message %d: %+v %v", i, m, err)
		}
		lastID = id
	}
	c.c.Close()
	waitUntil(t, "the server to see the SSE client leave", func() bool { return srv.Stats().Connections == 0 })
	for i := 4; i <= 6; i++ { // while away
		mustPublish(t, srv, "room", i)
	}

	// The browser reconnects to the same URL with the header; the URL may
	// name a channel the cursor lacks, which is added from now.
	cs := startCurlStream(t, "-H", "Last-Event-ID: "+lastID, trURL(addr, "/sse", "ch", "room", "ch", "extra"))
	if code, _, err := cs.head(); err != nil || code != 200 {
		t.Fatalf("reconnect: %d %v", code, err)
	}
	cursor, gap, err := cs.sseOpen()
	if err != nil {
		t.Fatal(err)
	}
	names, pos := parseCursor(t, cursor)
	_, last := parseCursor(t, lastID)
	if gap != nil || len(names) != 2 || names[0] != "room" || pos["room"] != last["room"] || pos["extra"].Seq != 0 {
		t.Fatalf("open after reconnect: cursor %q gap %v (Last-Event-ID %q)", cursor, gap, lastID)
	}
	for i := uint64(4); i <= 6; i++ {
		id, m, err := cs.sseMsg()
		if err != nil || m.Ch != "room" || m.Seq != i {
			t.Fatalf("after reconnect, want seq %d: %+v %v", i, m, err)
		}
		if _, p := parseCursor(t, id); p["room"].Seq != i || p["extra"].Seq != 0 {
			t.Fatalf("id %q after seq %d", id, i)
		}
	}
	mustPublish(t, srv, "room", 7)
	mustPublish(t, srv, "extra", 1)
	if _, m, err := cs.sseMsg(); err != nil || m.Ch != "room" || m.Seq != 7 {
		t.Fatalf("live after the replay: %+v %v", m, err)
	}
	id, m, err := cs.sseMsg()
	if err != nil || m.Ch != "extra" || m.Seq != 1 {
		t.Fatalf("added channel: %+v %v", m, err)
	}
	if _, p := parseCursor(t, id); p["room"].Seq != 7 || p["extra"].Seq != 1 {
		t.Fatalf("final id %q", id)
	}
}

// /stream parsed by hand on a raw socket: chunked framing, one JSON object
// per chunk and line, open, heartbeats, messages; at shutdown the body
// ends with the last chunk and the connection closes.
func TestStreamChunkedFramingAndShutdown(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, StreamHeartbeat: 100 * time.Millisecond, DrainTimeout: 3 * time.Second})
	c := dialRaw(t, srv.Addr())
	c.get("/stream?ch=s")
	code, h := c.streamHead()
	if code != 200 || h.Get("Transfer-Encoding") != "chunked" || h.Get("Content-Length") != "" ||
		h.Get("Content-Type") != "application/x-ndjson" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("stream head: %d %v", code, h)
	}
	lr := c.lines()
	open, _, err := lr.ndjson()
	if err != nil || open["op"] != "open" {
		t.Fatalf("first line: %v %v", open, err)
	}
	cursor, _ := open["cursor"].(string)
	_, pos := parseCursor(t, cursor)
	if pos["s"].Seq != 0 || open["gap"] != nil {
		t.Fatalf("open %v", open)
	}
	hb, raw, err := lr.ndjson()
	if err != nil || hb["op"] != "hb" || string(raw) != `{"op":"hb"}` {
		t.Fatalf("want a heartbeat line, got %s %v", raw, err)
	}
	for i := 1; i <= 5; i++ {
		mustPublish(t, srv, "s", i)
	}
	for i := uint64(1); i <= 5; i++ {
		m, err := lr.streamMsg(lr.ndjson)
		if err != nil || m.Ch != "s" || m.Seq != i || string(m.Data) != strconv.FormatUint(i, 10) {
			t.Fatalf("msg %d: %+v %v", i, m, err)
		}
	}

	shut := make(chan error, 1)
	start := time.Now()
	go func() { shut <- srv.Shutdown(context.Background()) }()
	closed := false
	for {
		m, raw, err := lr.ndjson()
		if errors.Is(err, errLastChunk) {
			break
		}
		if err == nil && m["op"] == "close" && !closed {
			// The stream says why it ends: 1001, reconnect elsewhere.
			if m["code"] != float64(1001) {
				t.Fatalf("close event %s, want code 1001", raw)
			}
			closed = true
			continue
		}
		if err != nil || m["op"] != "hb" || closed {
			t.Fatalf("before the last chunk: %s %v", raw, err)
		}
	}
	if !closed {
		t.Fatal("the stream ended without its close event")
	}
	c.expectEOF()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %v with one stream open", took)
	}
}

// The iframe forever-frame escapes hostile payloads: the raw HTML holds
// no "</script" or "<!--" but its own markup, and every parent.cb(...)
// argument parses back to the published value.
func TestIframeEscapesHostilePayloads(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, StreamHeartbeat: 100 * time.Millisecond})
	c := dialRaw(t, srv.Addr())
	c.get("/iframe?ch=i&cb=__comet1_1_1")
	code, h := c.streamHead()
	if code != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("iframe head: %d %v", code, h)
	}
	ir := &iframeReader{lr: c.lines(), cb: "__comet1_1_1"}
	if err := ir.readHead(); err != nil {
		t.Fatal(err)
	}
	if _, err := ir.open(); err != nil {
		t.Fatal(err)
	}
	// Raw JSON bytes, not json.Marshal output (which would escape the
	// HTML characters itself).
	payloads := []string{
		`"</script><script>alert(1)</script>"`,
		`"<!--"`,
		`"<!-- <script> -->"`,
		"\"line\u2028sep\u2029para\"",
		`"&amp; & &lt;"`,
		`{"k":"</SCRIPT >","a":["<",">","&"],"n":1}`,
		`"<\/script>"`,
		`"]]><![CDATA["`,
		`"\u003c/script\u003e"`,
	}
	for _, p := range payloads {
		if _, err := srv.Publish("i", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// The same through POST /send, as a browser would publish it.
	sendBody := `{"op":"pub","ch":"i","data":{"x":"</script><!--"}}`
	if status, _, body := trDo(t, "POST", "http://"+srv.Addr()+"/send", sendBody); status != 200 {
		t.Fatalf("send: %d %s", status, body)
	}
	payloads = append(payloads, `{"x":"</script><!--"}`)

	for i, p := range payloads {
		m, err := ir.msg()
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint64(i+1) {
			t.Fatalf("script %d carries seq %d", i+1, m.Seq)
		}
		if got, want := canonJSON(m.Data), canonJSON([]byte(p)); got != want {
			t.Fatalf("payload %d round trip: got %s, want %s", i+1, got, want)
		}
	}
	// Wait for a heartbeat too, then count the markup.
	if err := ir.heartbeat(); err != nil {
		t.Fatal(err)
	}
	html := strings.ToLower(ir.html.String())
	if n := strings.Count(html, "</script"); n != ir.scripts {
		t.Fatalf("%d \"</script\" in the page for %d script elements", n, ir.scripts)
	}
	if n := strings.Count(html, "<!--"); n != 1+ir.hbs {
		t.Fatalf("%d \"<!--\" in the page, want the padding and %d heartbeats", n, ir.hbs)
	}
	if strings.ContainsAny(html, "\u2028\u2029") {
		t.Fatal("raw U+2028/U+2029 in the page")
	}
}

// Hostile or malformed callback names are refused with 400 before any
// stream starts: only the names comet.js generates (__comet, then digits
// and underscores) are accepted, so another site cannot make our page
// call functions of its choosing (cb=document.body.remove).
func TestIframeRejectsHostileCallbacks(t *testing.T) {
	srv := startServer(t, Config{})
	addr := srv.Addr()
	for _, cb := range []string{
		"alert(1)", "a.b()", "1abc", "a..b", strings.Repeat("a", 65), "a-b", "",
		".a", "a.", "a b", "</script>", "a;b", "a\x00", "a\nb", "a[0]", "a.1b", "é",
		"x);alert(1);//", "document.body.remove", "window.comet.push", "$", "__comet", "__comet1a",
		"__comet" + strings.Repeat("1", 49), "onComet",
	} {
		status, hdr, body := trDo(t, "GET", trURL(addr, "/iframe", "ch", "i", "cb", cb), "")
		if status != 400 || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("cb=%q: status %d (%s)", cb, status, body)
			continue
		}
		errBody(t, body, 400)
	}
	if status, _, _ := trDo(t, "GET", trURL(addr, "/iframe", "ch", "i"), ""); status != 400 {
		t.Errorf("no cb: status %d, want 400", status)
	}
	r := mustCurl(t, "http://"+addr+"/iframe?ch=i&cb=alert(1)")
	if r.Status != 400 || strings.Contains(r.Body, "<script") {
		t.Fatalf("curl cb=alert(1): %d %q", r.Status, r.Body)
	}

	for _, cb := range []string{"__comet1_2_3", "__comet0", "__comet" + strings.Repeat("9", 48)} {
		resp, lr := openStreamHTTP(t, trURL(addr, "/iframe", "ch", "i", "cb", cb))
		if resp.StatusCode != 200 {
			t.Fatalf("cb=%q: status %d", cb, resp.StatusCode)
		}
		ir := &iframeReader{lr: lr, cb: cb}
		if err := ir.readHead(); err != nil {
			t.Fatalf("cb=%q: %v", cb, err)
		}
		if _, err := ir.open(); err != nil {
			t.Fatalf("cb=%q: %v", cb, err)
		}
		resp.Body.Close()
	}
}

// A stream that is not read is cut off once its queue passes
// MaxOutboundBytes, while a reading one receives everything; the
// publisher is paced by the reading client.
func TestSSESlowConsumerCutOff(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, MaxOutboundBytes: 256 << 10})
	addr := srv.Addr()
	slow, err := net.DialTimeout("tcp", addr, readTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_ = slow.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := slow.Write([]byte("GET /sse?ch=firehose HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the slow stream to open", func() bool { return srv.Stats().Streams == 1 })

	fast := dialRaw(t, addr)
	fast.get("/sse?ch=firehose")
	if code, _ := fast.streamHead(); code != 200 {
		t.Fatalf("fast: status %d", code)
	}
	lr := fast.lines()
	if _, _, err := lr.sseOpen(); err != nil {
		t.Fatal(err)
	}
	payload := []byte(`"` + strings.Repeat("x", 8000) + `"`)
	const max = 3000 // 24 MB: far past kernel buffers and the budget
	cut := 0
	for i := 1; i <= max; i++ {
		if _, err := srv.Publish("firehose", payload); err != nil {
			t.Fatal(err)
		}
		_, m, err := lr.sseMsg()
		if err != nil || m.Seq != uint64(i) {
			t.Fatalf("reading client at seq %d: %+v %v", i, m.Seq, err)
		}
		if srv.Stats().Closed["slow consumer"] == 1 {
			cut = i
			break
		}
	}
	if cut == 0 {
		t.Fatalf("the unread stream was never cut off: %+v", srv.Stats())
	}
	for i := cut + 1; i <= cut+5; i++ { // the reader goes on
		mustPublish(t, srv, "firehose", i)
		if _, m, err := lr.sseMsg(); err != nil || m.Seq != uint64(i) {
			t.Fatalf("after the cut, seq %d: %+v %v", i, m.Seq, err)
		}
	}
	// The slow stream's connection is gone on the server; only the reader's
	// is left. (Draining the slow socket to EOF is not asserted: with its
	// tiny receive window the kernel's zero-window probes back off for
	// seconds.)
	if n := srv.Stats().Connections; n != 1 {
		t.Fatalf("%d connections open after the cut, want the reader's only", n)
	}
	if n := srv.Stats().Closed["slow consumer"]; n != 1 {
		t.Fatalf("%d slow consumers cut", n)
	}
	t.Logf("cut after %d messages of 8 KB", cut)
}

// Shutdown answers a parked poll (200, msgs []) and closes SSE, chunked
// and iframe streams, all well within the drain deadline.
func TestTransportShutdownDrains(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, DrainTimeout: 3 * time.Second})
	addr := srv.Addr()
	done := asyncPoll(addr, "ch", "bye", "wait", "20")

	sse := dialRaw(t, addr)
	sse.get("/sse?ch=bye")
	stream := dialRaw(t, addr)
	stream.get("/stream?ch=bye")
	iframe := dialRaw(t, addr)
	iframe.get("/iframe?ch=bye&cb=__comet1")
	for _, c := range []*rawConn{sse, stream, iframe} {
		if code, _ := c.streamHead(); code != 200 {
			t.Fatalf("stream status %d", code)
		}
	}
	openCursor, _, err := sse.lines().sseOpen()
	if err != nil {
		t.Fatal(err)
	}
	if m, _, err := stream.lines().ndjson(); err != nil || m["op"] != "open" {
		t.Fatalf("stream open: %v %v", m, err)
	}
	ir := &iframeReader{lr: iframe.lines(), cb: "__comet1"}
	if err := ir.readHead(); err != nil {
		t.Fatal(err)
	}
	if _, err := ir.open(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == 1 })

	start := time.Now()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()

	r := awaitPoll(t, done)
	// The channel has no stream: each cursor names an empty epoch of the
	// time it was read, at seq 0.
	_, pollPos := parseCursor(t, r.a.Cursor)
	_, openPos := parseCursor(t, openCursor)
	if !strings.Contains(r.a.Raw, `"msgs":[]`) || pollPos["bye"].Seq != 0 || openPos["bye"].Seq != 0 ||
		!strings.HasPrefix(pollPos["bye"].Epoch, ".") {
		t.Fatalf("parked poll at shutdown: %s (stream opened at %s)", r.a.Raw, openCursor)
	}
	if !r.a.Close {
		t.Fatalf("poll answered at shutdown without Connection: close: %v", r.a.Header)
	}
	sse.expectEOF()
	slr := stream.lines()
	if m, raw, err := slr.ndjson(); err != nil || m["op"] != "close" {
		t.Fatalf("stream at shutdown: want the close event, got %s %v", raw, err)
	}
	if _, err := slr.chunk(); !errors.Is(err, errLastChunk) {
		t.Fatalf("stream at shutdown: want the last chunk, got %v", err)
	}
	stream.expectEOF()
	iframe.expectEOF()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %v (drain deadline 3s)", took)
	}
	if n := srv.Stats().Connections; n != 0 {
		t.Fatalf("%d connections left after shutdown", n)
	}
}

// Resuming a stream from a position: /stream with ch=NAME~EPOCH~SEQ (as
// documented) replays exactly what follows; SSE with a Last-Event-ID that
// history no longer reaches reports the gap in its open event and replays
// what is kept.
func TestStreamAndSSEResumeFromPosition(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, HistorySize: 5})
	addr := srv.Addr()
	for i := 1; i <= 8; i++ { // history keeps 4..8
		mustPublish(t, srv, "r", i)
	}
	_, pos := parseCursor(t, mustPoll(t, addr, "ch", "r", "wait", "0").Cursor)
	epoch := pos["r"].Epoch

	resp, lr := openStreamHTTP(t, trURL(addr, "/stream", "ch", "r~"+epoch+"~5"))
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	open, _, err := lr.ndjsonLine()
	if err != nil || open["op"] != "open" || open["cursor"] != "r~"+epoch+"~5" || open["gap"] != nil {
		t.Fatalf("stream open: %v %v", open, err)
	}
	for i := uint64(6); i <= 8; i++ {
		if m, err := lr.streamMsg(lr.ndjsonLine); err != nil || m.Seq != i {
			t.Fatalf("stream replay, want seq %d: %+v %v", i, m, err)
		}
	}
	mustPublish(t, srv, "r", 9)
	if m, err := lr.streamMsg(lr.ndjsonLine); err != nil || m.Seq != 9 {
		t.Fatalf("stream live after the replay: %+v %v", m, err)
	}

	c := dialRaw(t, addr)
	c.get("/sse?ch=r", "Last-Event-ID", "r~"+epoch+"~1")
	if code, _ := c.streamHead(); code != 200 {
		t.Fatalf("sse: %d", code)
	}
	sl := c.lines()
	cursor, gap, err := sl.sseOpen()
	if err != nil {
		t.Fatal(err)
	}
	if len(gap) != 1 || gap[0] != "r" {
		t.Fatalf("open after an unrecoverable Last-Event-ID: cursor %q gap %v", cursor, gap)
	}
	for i := uint64(5); i <= 9; i++ { // the 5 kept
		if id, m, err := sl.sseMsg(); err != nil || m.Seq != i || id != fmt.Sprintf("r~%s~%d", epoch, i) {
			t.Fatalf("sse replay after a gap, want seq %d: %q %+v %v", i, id, m, err)
		}
	}
	// A malformed Last-Event-ID is a 400, not a silent fresh start.
	bad := dialRaw(t, addr)
	bad.get("/sse?ch=r", "Last-Event-ID", "r~"+epoch)
	if resp, body := bad.fullResponse(); resp.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID: %d %s", resp.StatusCode, body)
	}
}

// A parked poll whose client goes away is forgotten: nothing is written
// to it, and the channel goes on serving others.
func TestPollClientLeavesWhileParked(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	c := dialRaw(t, addr)
	c.get("/poll?ch=gone")
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == 1 })
	c.c.Close()
	waitUntil(t, "the server to see the client leave", func() bool { return srv.Stats().Connections == 0 })
	mustPublish(t, srv, "gone", 1)
	a := mustPoll(t, addr, "ch", "gone", "wait", "0")
	if len(a.Msgs) != 0 || !strings.HasSuffix(a.Cursor, "~1") {
		t.Fatalf("poll after a parked client left: %s", a.Raw)
	}
	if n := srv.Stats().Panics; n != 0 {
		t.Fatalf("%d panics", n)
	}
}

// A forever-frame for a page on another origin (origin=) carries its
// heartbeats as postMessage events the page can read, not as comments.
func TestIframeCrossOriginHeartbeat(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, StreamHeartbeat: 50 * time.Millisecond,
		AllowedOrigins: []string{"https://app.example"}})
	// With a sid after it: the origin must survive the rest of the query
	// being read (it once shared a scratch buffer with the sid).
	resp, lr := openStreamHTTP(t, trURL(srv.Addr(), "/iframe", "ch", "i", "cb", "__comet7_1", "origin", "https://app.example", "sid", "s0123456789abcdef"))
	defer resp.Body.Close()
	want := `<script>parent.postMessage({"comet":"__comet7_1","ev":{"op":"hb"}},"https://app.example");</script>`
	for i := 0; i < 200; i++ {
		line, err := lr.line()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, "<!-- hb -->") {
			t.Fatalf("a comment heartbeat to another origin: %q", line)
		}
		if strings.Contains(line, want) {
			return
		}
	}
	t.Fatal("no postMessage heartbeat in 200 lines")
}

// The postMessage target of a cross-origin frame is the origin asked for,
// whatever the rest of the query holds: it was once read into the loop's
// scratch and overwritten by the sid read next, once the scratch had grown
// (an iframe delivery grows it), so a busy node posted to a garbled origin.
func TestIframeTargetSurvivesTheSid(t *testing.T) {
	srv := startServer(t, Config{Loops: 1, AllowedOrigins: []string{"https://app.example"}})
	// Grow the loop's scratch: a frame delivery of a long message.
	warm, wl := openStreamHTTP(t, trURL(srv.Addr(), "/iframe", "ch", "warm", "cb", "__comet7_0"))
	defer warm.Body.Close()
	if _, err := srv.Publish("warm", []byte(`"`+strings.Repeat("w", 512)+`"`)); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := wl.line()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, "wwww") {
			break
		}
	}
	resp, lr := openStreamHTTP(t, trURL(srv.Addr(), "/iframe", "ch", "x", "cb", "__comet7_1",
		"origin", "https://app.example", "sid", "s0123456789abcdef"))
	defer resp.Body.Close()
	if _, err := srv.Publish("x", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := lr.line()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, `"op":"msg"`) {
			if !strings.HasSuffix(strings.TrimSpace(line), `},"https://app.example");</script>`) {
				t.Fatalf("posted to another target: %q", line)
			}
			return
		}
	}
}
