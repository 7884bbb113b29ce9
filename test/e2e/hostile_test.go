//go:build unix

package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The hostile-client suite (issue 8): each test attacks the real binary the
// way a client on the open internet can, with nothing but sockets, and
// asserts the documented answer, that the node still serves an ordinary
// client afterwards, and, where memory is the attack, that the server
// process stays under a stated bound (its VmRSS, from /proc).

// Data that is not valid UTF-8, too deep or out of number range never
// enters a channel, by any door: a subscriber of the channel keeps its
// connection (browsers and node ws drop the whole connection with 1006 on
// a text frame that is not UTF-8).
func TestHostileInvalidData(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey)
	ch := uniqName("poison")
	sub, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	_ = sub.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","ch":"`+ch+`"}`))
	_ = sub.SetReadDeadline(time.Now().Add(hostileTimeout))
	if _, _, err := sub.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	for _, data := range []string{"\"\xff\xfe\"", `"a\` + "\x00" + `"`, deep, "1e400", `{"a":1,}`} {
		body := `{"op":"pub","ch":"` + ch + `","data":` + data + `,"id":"p"}`
		resp, err := http.Post(s.URL+"/send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), `"op":"err"`) || !strings.Contains(b.String(), `"code":400`) {
			t.Errorf("POST /send with data %.20q: %d %s, want an err with code 400", data, resp.StatusCode, &b)
		}
		if status, body := apiPost(t, s, `{"channel":"`+ch+`","data":`+data+`}`); status != 400 {
			t.Errorf("API publish of %.20q: %d %s, want 400", data, status, body)
		}
	}
	// Over a WebSocket: invalid UTF-8 in a text frame fails that connection
	// (1007); valid UTF-8 with bad data gets an err reply.
	bad := dialRawWS(t, s, "/ws", 0)
	_, _ = bad.c.Write(frame(1, true, []byte(`{"op":"pub","ch":"`+ch+`","data":"`+"\xff"+`"}`)))
	if code := bad.readUntilClose(t, hostileTimeout); code != 1007 {
		t.Fatalf("invalid UTF-8 frame: close %d, want 1007", code)
	}
	pub := dialRawWS(t, s, "/ws", 0)
	_, _ = pub.c.Write(frame(1, true, []byte(`{"op":"pub","ch":"`+ch+`","data":`+deep+`,"id":"d"}`)))
	if _, p, err := pub.readFrame(hostileTimeout); err != nil || !bytes.Contains(p, []byte(`"code":400`)) {
		t.Fatalf("too deep over the WebSocket: %q %v", p, err)
	}
	// The subscriber is still connected and gets the next valid message,
	// seq 1: nothing invalid was stored.
	if status, body := apiPost(t, s, `{"channel":"`+ch+`","data":"fine"}`); status != 200 {
		t.Fatalf("valid publish: %d %s", status, body)
	}
	for {
		_, p, err := sub.ReadMessage()
		if err != nil {
			t.Fatalf("the subscriber lost its connection: %v", err)
		}
		if bytes.Contains(p, []byte(`"op":"msg"`)) {
			if !bytes.Contains(p, []byte(`"seq":1,`)) || !bytes.Contains(p, []byte(`"data":"fine"`)) {
				t.Fatalf("subscriber got %s, want seq 1 \"fine\"", p)
			}
			break
		}
	}
	servesOrdinaryClient(t, s)
}

// Out of file descriptors (EMFILE on accept) the node keeps serving its
// connections, sheds what it cannot accept (the client sees its
// connection closed, it does not hang), logs it, and accepts again by
// itself once descriptors free up.
func TestHostileOutOfDescriptors(t *testing.T) {
	t.Parallel()
	const limit, attackers = 256, 400
	s := startServerWith(t, []string{"prlimit", fmt.Sprintf("--nofile=%d:%d", limit, limit), "--"},
		"-api-key", apiKey, "-max-connections", "100000", "-max-conns-per-ip", "-1",
		"-handshake-timeout", "60s", "-loops", "1")
	ch := uniqName("fd")
	sub, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pub, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	_ = sub.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","ch":"`+ch+`"}`))
	_ = sub.SetReadDeadline(time.Now().Add(hostileTimeout))
	if _, _, err := sub.ReadMessage(); err != nil {
		t.Fatal(err)
	}

	// More idle connections than the process may hold descriptors.
	conns := make([]net.Conn, 0, attackers)
	for range attackers {
		c, err := net.DialTimeout("tcp", s.hostAddr(), hostileTimeout)
		if err != nil {
			continue // the backlog overflowed: refused, fine too
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Each one is either held (the server waits for its request) or shed
	// (closed at once). None may stay in limbo past the deadline: read
	// them all at once; a held one times out, a shed one reads EOF.
	var shed, held int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err := c.Read(make([]byte, 1))
			mu.Lock()
			defer mu.Unlock()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				held++
			} else {
				shed++
			}
		}()
	}
	wg.Wait()
	if held > limit || shed == 0 {
		t.Fatalf("%d connections held, %d shed: want at most %d held and some shed", held, shed, limit)
	}
	// The established connections are served throughout.
	if err := pub.WriteMessage(websocket.TextMessage, []byte(`{"op":"pub","ch":"`+ch+`","data":"during"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_ = sub.SetReadDeadline(time.Now().Add(hostileTimeout))
		_, p, err := sub.ReadMessage()
		if err != nil {
			t.Fatalf("an established subscriber was dropped while descriptors ran out: %v", err)
		}
		if bytes.Contains(p, []byte(`"data":"during"`)) {
			break
		}
	}
	waitFor(t, "the server to log that it ran out of descriptors", hostileTimeout, func() bool {
		return strings.Contains(s.log.String(), "out of file descriptors")
	})
	// Free the descriptors: new clients are accepted again by themselves.
	for _, c := range conns {
		c.Close()
	}
	conns = conns[:0]
	freed := time.Now()
	waitFor(t, "accepting to resume", 20*time.Second, func() bool {
		resp, err := (&http.Client{Timeout: time.Second}).Get(s.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	t.Logf("accepting again %v after the descriptors were freed (%d held, %d shed)", time.Since(freed).Round(time.Millisecond), held, shed)
	servesOrdinaryClient(t, s)
}

// -max-connections and -max-conns-per-ip: a refused connection gets 503
// with Retry-After at once, before it sends anything; other addresses and
// the connections already open are not affected.
func TestHostileAdmission(t *testing.T) {
	t.Parallel()
	// A long keep-alive idle time: an admitted connection must keep its
	// slot however slowly this test runs.
	s := startServer(t, "-api-key", apiKey, "-max-connections", "20", "-max-conns-per-ip", "8", "-handshake-timeout", "2m")
	dialFrom := func(ip string) net.Conn {
		d := net.Dialer{Timeout: hostileTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", s.hostAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// refused reads the 503 a refused connection gets, or reports false
	// when nothing comes within d (the connection was admitted).
	refused := func(c net.Conn, d time.Duration) (bool, string) {
		_ = c.SetReadDeadline(time.Now().Add(d))
		b := make([]byte, 512)
		n, _ := c.Read(b)
		return n > 0, string(b[:n])
	}
	// admitted proves that c holds a slot: the node answers a request on
	// it. (A dial returns once the kernel queued the connection, before
	// the node took it: only an answer says it was taken, and counted.)
	admitted := func(c net.Conn) {
		t.Helper()
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if got, answer := refused(c, hostileTimeout); !got || !strings.HasPrefix(answer, "HTTP/1.1 200 ") {
			t.Fatalf("an admitted connection's request: %q", answer)
		}
	}
	waitFor(t, "the probe connections to close", hostileTimeout, func() bool {
		c := dialFrom("127.0.0.9")
		defer c.Close()
		got, _ := refused(c, 500*time.Millisecond)
		return !got
	})
	var held []net.Conn
	for range 8 {
		c := dialFrom("127.0.0.1")
		admitted(c)
		held = append(held, c)
	}
	over := dialFrom("127.0.0.1")
	got, answer := refused(over, hostileTimeout)
	if !got || !strings.HasPrefix(answer, "HTTP/1.1 503 ") || !strings.Contains(answer, "Retry-After: 5") ||
		!strings.Contains(answer, "too many connections from your address") {
		t.Fatalf("the 9th connection from one address: %q, want a 503 with Retry-After", answer)
	}
	// Another address is still admitted, until the node-wide cap.
	for _, ip := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2",
		"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.3"} {
		c := dialFrom(ip)
		admitted(c)
		held = append(held, c)
	}
	over = dialFrom("127.0.0.4")
	if got, answer := refused(over, hostileTimeout); !got || !strings.Contains(answer, "connection limit reached") {
		t.Fatalf("the 21st connection: %q, want the node-wide 503", answer)
	}
	for _, c := range held {
		c.Close()
	}
	waitFor(t, "the slots to free up", hostileTimeout, func() bool {
		c := dialFrom("127.0.0.1")
		defer c.Close()
		got, _ := refused(c, 500*time.Millisecond)
		return !got
	})
	servesOrdinaryClient(t, s)
}

// 70 KB of pipelined GET /comet.js from a client that never reads: the
// node answers one at a time while an answer is queued, stops reading the
// socket, and closes it after the request deadline. Before, this grew the
// server by 350 MB.
func TestHostilePipelinedRequestsUnread(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey, "-handshake-timeout", "3s")
	before := s.rss(t)
	c, err := net.DialTimeout("tcp", s.hostAddr(), hostileTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	req := "GET /comet.js HTTP/1.1\r\nHost: x\r\n\r\n"
	pipeline := []byte(strings.Repeat(req, 70000/len(req)))
	_ = c.SetWriteDeadline(time.Now().Add(hostileTimeout))
	_, _ = c.Write(pipeline) // may block once the server stops reading: fine
	servesOrdinaryClient(t, s)
	if grown := s.rss(t) - before; grown > 32<<20 {
		t.Fatalf("the server grew by %d MB answering an unread pipeline, want under 32 MB", grown>>20)
	}
	// The connection is closed once its answers went unread for the
	// request deadline.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the unread pipeline's connection was never closed")
			}
			break
		}
	}
}

// 48 MiB of pings from a client that never reads: every pong counts
// against the outbound budget, so the client is cut off; the server does
// not grow by the pongs it could not send (before: 46 MiB).
func TestHostilePingFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey)
	before := s.rss(t)
	r := dialRawWS(t, s, "/ws", 4096)
	ping := frame(9, true, bytes.Repeat([]byte("p"), 125))
	burst := bytes.Repeat(ping, 1024)
	sent := 0
	_ = r.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	for sent < 48<<20 {
		n, err := r.c.Write(burst)
		sent += n
		if err != nil {
			break // cut off: the server closed the connection
		}
	}
	servesOrdinaryClient(t, s)
	if grown := s.rss(t) - before; grown > 32<<20 {
		t.Fatalf("the server grew by %d MB under a ping flood, want under 32 MB", grown>>20)
	}
	t.Logf("%d MB of pings written before the cut", sent>>20)
}

// One client publishing 40 channels x 100 x 32 KiB (128 MiB) cannot make
// the node hold it: history is capped per channel and per node in bytes,
// and a late reader is told the gap honestly.
func TestHostileHistoryBytes(t *testing.T) {
	t.Parallel()
	admin := adminAddr(t)
	s := startServer(t, "-api-key", apiKey, "-publish-rate", "-1", "-max-channel-history-bytes", "262144", "-admin-addr", admin)
	before := liveHeap(t, admin)
	r := dialRawWS(t, s, "/ws", 0)
	prefix := uniqName("flood")
	data := `"` + strings.Repeat("x", 32<<10) + `"`
	for i := range 100 {
		for c := range 40 {
			msg := fmt.Sprintf(`{"op":"pub","ch":"%s_%d","data":%s}`, prefix, c, data)
			if _, err := r.c.Write(frame(1, true, []byte(msg))); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	// The last publish is in: a ping answered after it proves it.
	_, _ = r.c.Write(frame(1, true, []byte(`{"op":"ping","id":"done"}`)))
	for {
		_, p, err := r.readFrame(time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(p, []byte(`"op":"pong"`)) {
			break
		}
	}
	// The live heap after a GC, not RSS: what the flood left is garbage
	// the runtime returns when it likes (and a race-instrumented binary's
	// shadow memory stays), while history it kept would be live.
	if grown := liveHeap(t, admin) - before; grown > 48<<20 {
		t.Fatalf("the server holds %d MB more after 128 MiB of published history, want under 48 MB (10 MiB of history)", grown>>20)
	}
	// A reader from the start is told that history does not reach back.
	late, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	_ = late.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","ch":"`+prefix+`_0","since":0,"id":"l"}`))
	_ = late.SetReadDeadline(time.Now().Add(hostileTimeout))
	if _, p, err := late.ReadMessage(); err != nil || !bytes.Contains(p, []byte(`"recovered":false`)) {
		t.Fatalf("a late reader's sub reply: %s %v, want recovered false", p, err)
	}
	servesOrdinaryClient(t, s)
}

// Naming channels costs nothing durable: short polls naming 128 new
// channels each (before: a million channels in six seconds, then 503 for
// everyone) leave the node's channel limit untouched.
func TestHostileNamingChannels(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey, "-max-channels", "20")
	client := &http.Client{Timeout: hostileTimeout}
	prefix := uniqName("name")
	for i := range 200 {
		var q strings.Builder
		for j := range 128 {
			fmt.Fprintf(&q, "ch=%s_%d_%d&", prefix, i, j)
		}
		resp, err := client.Get(s.URL + "/poll?" + q.String() + "wait=0")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("poll %d: %d", i, resp.StatusCode)
		}
	}
	// A WebSocket naming 128 channels costs nothing either.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	for j := range 128 {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"op":"sub","ch":"%s_ws_%d"}`, prefix, j)))
	}
	ws.Close()
	// All 20 channels of the limit are still there for publishers.
	for c := range 20 {
		if status, body := apiPost(t, s, fmt.Sprintf(`{"channel":"%s_pub_%d","data":1}`, prefix, c)); status != 200 {
			t.Fatalf("publish to new channel %d of the limit: %d %s", c, status, body)
		}
	}
	if status, _ := apiPost(t, s, fmt.Sprintf(`{"channel":"%s_pub_over","data":1}`, prefix)); status != 503 {
		t.Fatalf("the 21st channel: %d, want 503 (the limit still applies)", status)
	}
}

// A message trickled one byte at a time is closed with 4003 at
// -message-timeout (before: a 60 KiB frame at a byte every 2 s was kept
// open forever).
func TestHostileTrickledMessage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey, "-message-timeout", "1s")
	r := dialRawWS(t, s, "/ws", 0)
	if _, err := r.c.Write(frameHeader(1, true, 60<<10, nil)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := r.c.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}
	}()
	if code := r.readUntilClose(t, hostileTimeout); code != 4003 {
		t.Fatalf("trickled message: close %d, want 4003", code)
	}
	servesOrdinaryClient(t, s)
}

// A message over -max-message-bytes is answered with 1009, and the close
// frame reaches a client that is still sending its message (the server
// keeps reading and discarding for a while, instead of a reset).
func TestHostileOversizedMessageGetsItsCloseFrame(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey)
	r := dialRawWS(t, s, "/ws", 0)
	payload := bytes.Repeat([]byte("x"), 256<<10)
	go func() {
		_, _ = r.c.Write(frameHeader(1, true, len(payload), payload)) // all of it, after the answer
	}()
	if code := r.readUntilClose(t, hostileTimeout); code != 1009 {
		t.Fatalf("oversized message: close %d, want 1009", code)
	}
	servesOrdinaryClient(t, s)
}

// A slow consumer's cut-off reaches it as a 4001 close frame after the
// messages already queued, not as a reset: the budget keeps room for the
// frame, and the server lingers before it closes the socket.
func TestHostileSlowConsumerGetsItsCloseFrame(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey, "-max-outbound-bytes", "262144", "-close-timeout", "20s",
		"-publish-rate", "-1")
	ch := uniqName("slow")
	// A normal receive window: one shrunk at connect stays small, and
	// reading the backlog through it afterwards would crawl.
	r := dialRawWS(t, s, "/ws", 0)
	_, _ = r.c.Write(frame(1, true, []byte(`{"op":"sub","ch":"`+ch+`","id":"s"}`)))
	if _, p, err := r.readFrame(hostileTimeout); err != nil || !bytes.Contains(p, []byte(`"op":"sub"`)) {
		t.Fatalf("sub reply: %q %v", p, err)
	}
	data := `"` + strings.Repeat("y", 8<<10) + `"`
	pub := dialRawWS(t, s, "/ws", 0)
	for range 2000 { // 16 MB: past the budget and what the kernel's buffers absorb
		if _, err := pub.c.Write(frame(1, true, []byte(`{"op":"pub","ch":"`+ch+`","data":`+data+`}`))); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = pub.c.Write(frame(1, true, []byte(`{"op":"ping","id":"done"}`)))
	if _, p, err := pub.readFrame(hostileTimeout); err != nil || !bytes.Contains(p, []byte(`"op":"pong"`)) {
		t.Fatalf("the publisher's ping: %q %v", p, err)
	}
	msgs := 0
	for {
		op, p, err := r.readFrame(hostileTimeout)
		if err != nil {
			t.Fatalf("after %d messages: %v (a reset instead of the close frame)", msgs, err)
		}
		if op == 8 {
			if code := int(binary.BigEndian.Uint16(p)); code != 4001 {
				t.Fatalf("close %d, want 4001", code)
			}
			break
		}
		msgs++
	}
	t.Logf("cut off after %d messages, with its close frame", msgs)
	servesOrdinaryClient(t, s)
}

// A fragmented text message fails with 1007 on the first fragment that
// makes it invalid, without waiting for the rest.
func TestHostileInvalidUTF8FailsFast(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey)
	r := dialRawWS(t, s, "/ws", 0)
	_, _ = r.c.Write(frame(1, false, []byte("{\"op\":\"pub\",\"data\":\"\xc3\x28")))
	if code := r.readUntilClose(t, hostileTimeout); code != 1007 {
		t.Fatalf("invalid first fragment: close %d, want 1007", code)
	}
	// Inside one frame that arrives in pieces, too.
	r = dialRawWS(t, s, "/ws", 0)
	_, _ = r.c.Write(frameHeader(1, true, 4096, []byte("{\"data\":\"\xff")))
	if code := r.readUntilClose(t, hostileTimeout); code != 1007 {
		t.Fatalf("invalid bytes at the start of a large frame: close %d, want 1007", code)
	}
	servesOrdinaryClient(t, s)
}

// After a run of large messages (16 MiB each, as conformance suites send)
// the node gives the memory back once it is idle, instead of keeping
// hundreds of megabytes resident.
func TestHostileBigMessagesReleased(t *testing.T) {
	t.Parallel()
	// A long message deadline: 16 MiB through a race-instrumented node on
	// a loaded machine takes more than the default 10 s.
	admin := adminAddr(t)
	s := startServer(t, "-api-key", apiKey, "-echo", "-max-message-bytes", "16777216",
		"-max-outbound-bytes", "67108864", "-max-body-bytes", "16777216", "-message-timeout", "2m", "-admin-addr", admin)
	before, heapBefore := s.rss(t), liveHeap(t, admin)
	d := websocket.Dialer{ReadBufferSize: 1 << 20, WriteBufferSize: 1 << 20}
	c, _, err := d.Dial("ws://"+s.hostAddr()+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(32 << 20)
	big := bytes.Repeat([]byte("z"), 16<<20)
	for i := range 3 {
		if err := c.WriteMessage(websocket.BinaryMessage, big); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, p, err := c.ReadMessage(); err != nil || len(p) != len(big) {
			t.Fatalf("echo %d: %d bytes, %v", i, len(p), err)
		}
	}
	peak := s.rss(t)
	c.Close()
	// The buffers leave the pools (a pool's victims go with the second
	// GC: each liveHeap runs one).
	waitFor(t, "the big messages' buffers to leave the heap", 45*time.Second, func() bool {
		return liveHeap(t, admin)-heapBefore < 48<<20
	})
	// And the pages go back to the system. A race-instrumented binary
	// keeps its shadow memory, so RSS is asserted in make test's run
	// without the race detector.
	if !raceEnabled {
		waitForOrSay(t, "the memory of the big messages to be released", 45*time.Second, func() bool {
			return s.rss(t)-before < 48<<20
		}, func() string { return fmt.Sprintf("RSS %d MB before; now %s", before>>20, memoryReport(t, s, admin)) })
	}
	t.Logf("RSS %d MB before, %d MB after three 16 MiB echoes, %d MB once idle", before>>20, peak>>20, s.rss(t)>>20)
	servesOrdinaryClient(t, s)
}
