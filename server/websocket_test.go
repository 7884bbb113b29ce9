package server

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

func TestProtocolRoundTrip(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := dialWS(t, srv.Addr()), dialWS(t, srv.Addr())
	r := a.subscribe("room:1")
	if r["seq"] != float64(0) || r["epoch"] == "" || r["id"] != "s-room:1" {
		t.Fatalf("sub reply %v", r)
	}
	if _, has := r["recovered"]; has {
		t.Fatalf("recovered present without since: %v", r)
	}
	b.subscribe("room:1")

	a.send(`{"op":"pub","ch":"room:1","data":{"text": "hi",  "n":[1, 2]},"id":"p1"}`)
	a.expect(map[string]any{"op": "ok", "id": "p1", "seq": 1})
	for _, c := range []*wsClient{a, b} {
		m := c.expect(map[string]any{"op": "msg", "ch": "room:1", "seq": 1,
			"data": map[string]any{"text": "hi", "n": []any{1, 2}}})
		if ts := m["ts"].(float64); time.Since(time.UnixMilli(int64(ts))) > time.Minute {
			t.Fatalf("ts %v is not now", ts)
		}
	}
	a.send(`{"op":"ping","id":"x"}`)
	a.expect(map[string]any{"op": "pong", "id": "x"})

	a.send(`{"op":"unsub","ch":"room:1","id":"u1"}`)
	a.expect(map[string]any{"op": "ok", "id": "u1"})
	b.send(`{"op":"pub","ch":"room:1","data":2,"id":"p2"}`)
	b.expect(map[string]any{"op": "ok", "seq": 2})
	b.expect(map[string]any{"op": "msg", "seq": 2})
	// a left the channel: the next thing it sees is its own pong.
	a.send(`{"op":"ping"}`)
	a.expect(map[string]any{"op": "pong"})
}

func TestProtocolErrors(t *testing.T) {
	srv := startServer(t, Config{MaxSubscriptions: 2})
	c := dialWS(t, srv.Addr())
	cases := []struct{ send, reason string }{
		{`not json`, ""},
		{`{"op":"dance","id":"1"}`, "unknown op"},
		{`{"op":"sub","ch":"bad channel!","id":"2"}`, "invalid channel name"},
		{`{"op":"sub","ch":"","id":"3"}`, "invalid channel name"},
		{`{"op":"pub","ch":"a","id":"4"}`, "pub without data"},
		{`{"op":"sub","ch":"a","id":"` + strings.Repeat("x", 65) + `"}`, "id too long"},
	}
	for _, tc := range cases {
		c.send(tc.send)
		m := c.expect(map[string]any{"op": "err", "code": 400})
		if tc.reason != "" && m["reason"] != tc.reason {
			t.Errorf("%s: reason %v, want %q", tc.send, m["reason"], tc.reason)
		}
	}
	c.subscribe("a")
	c.send(`{"op":"sub","ch":"a","id":"again"}`)
	c.expect(map[string]any{"op": "err", "id": "again", "code": 409})
	c.subscribe("b")
	c.send(`{"op":"sub","ch":"c","id":"third"}`)
	c.expect(map[string]any{"op": "err", "id": "third", "code": 429})
	// The connection survived every error.
	c.send(`{"op":"ping","id":"alive"}`)
	c.expect(map[string]any{"op": "pong", "id": "alive"})
}

func TestPingPongAndPipelinedFrames(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv.Addr())
	// The ping arrives in the same packet as the upgrade request.
	r.upgrade("/ws", frame(ws.OpPing, true, []byte("hello"), true))
	h, p := r.readFrame()
	if h.OpCode != ws.OpPong || string(p) != "hello" {
		t.Fatalf("got %v %q, want pong hello", h.OpCode, p)
	}
}

func TestFragmentedMessage(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv.Addr())
	r.upgrade("/ws", nil)
	msg := []byte(`{"op":"ping","id":"fragmented"}`)
	var b []byte
	b = append(b, frame(ws.OpText, false, msg[:5], true)...)
	b = append(b, frame(ws.OpPing, true, []byte("mid"), true)...) // control frames may interleave
	b = append(b, frame(ws.OpContinuation, false, msg[5:12], true)...)
	b = append(b, frame(ws.OpContinuation, true, msg[12:], true)...)
	// Byte by byte, to exercise every partial-read path on a real socket.
	for i := range b {
		r.write(b[i : i+1])
	}
	h, p := r.readFrame()
	if h.OpCode != ws.OpPong || string(p) != "mid" {
		t.Fatalf("got %v %q, want the interleaved pong", h.OpCode, p)
	}
	h, p = r.readFrame()
	if h.OpCode != ws.OpText || string(p) != `{"op":"pong","id":"fragmented"}` {
		t.Fatalf("got %v %q", h.OpCode, p)
	}
}

// Each protocol violation closes with its documented code.
func TestBadInputCloseCodes(t *testing.T) {
	srv := startServer(t, Config{MaxMessageBytes: 1024})
	big := bytes.Repeat([]byte("a"), 1025)
	withRsv := frame(ws.OpText, true, []byte("{}"), true)
	withRsv[0] |= 0x40
	reservedOp := frame(ws.OpText, true, []byte("{}"), true)
	reservedOp[0] = 0x80 | 0x3
	cases := []struct {
		name  string
		bytes []byte
		code  int
	}{
		{"unmasked frame", frame(ws.OpText, true, []byte(`{"op":"ping"}`), false), 1002},
		{"reserved bits", withRsv, 1002},
		{"reserved opcode", reservedOp, 1002},
		{"control frame over 125 bytes", frame(ws.OpPing, true, bytes.Repeat([]byte("p"), 126), true), 1002},
		{"fragmented control frame", frame(ws.OpPing, false, []byte("p"), true), 1002},
		{"continuation without start", frame(ws.OpContinuation, true, []byte("x"), true), 1002},
		{"new message inside a fragmented one", append(frame(ws.OpText, false, []byte("a"), true), frame(ws.OpText, true, []byte("b"), true)...), 1002},
		{"invalid utf-8", frame(ws.OpText, true, []byte{'"', 0xff, 0xfe, '"'}, true), 1007},
		{"invalid utf-8 across fragments", append(frame(ws.OpText, false, []byte{0xe2, 0x82}, true), frame(ws.OpContinuation, true, []byte{0x28}, true)...), 1007},
		{"message too big", frame(ws.OpText, true, big, true), 1009},
		{"fragments too big together", append(frame(ws.OpText, false, big[:600], true), frame(ws.OpContinuation, true, big[:600], true)...), 1009},
		{"binary on the JSON protocol", frame(ws.OpBinary, true, []byte{1, 2}, true), 1003},
		{"close with 1-byte payload", frame(ws.OpClose, true, []byte{3}, true), 1002},
		{"close with reserved code", frame(ws.OpClose, true, []byte{0x03, 0xed}, true), 1002}, // 1005
		{"close reason not utf-8", frame(ws.OpClose, true, []byte{0x03, 0xe8, 0xff}, true), 1007},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv.Addr())
			r.upgrade("/ws", nil)
			r.write(tc.bytes)
			if code := r.expectClose(); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
	// The oversized frame is refused from its header alone: the server
	// must not wait for (or buffer) a payload it will never accept.
	t.Run("too big decided from the header", func(t *testing.T) {
		r := dialRaw(t, srv.Addr())
		r.upgrade("/ws", nil)
		hdr := frame(ws.OpText, true, big, true)[:8] // header of a 1025-byte frame
		r.write(hdr)
		if code := r.expectClose(); code != 1009 {
			t.Fatalf("close code %d, want 1009", code)
		}
	})
}

func TestClientCloseIsEchoed(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv.Addr())
	r.upgrade("/ws", nil)
	r.write(frame(ws.OpClose, true, []byte{0x0f, 0xa0, 'b', 'y', 'e'}, true)) // 4000
	if code := r.expectClose(); code != 4000 {
		t.Fatalf("echoed close code %d, want 4000", code)
	}
}

func TestEchoEndpoint(t *testing.T) {
	off := startServer(t, Config{})
	r := dialRaw(t, off.Addr())
	r.write([]byte(strings.Replace(upgradeRequest, "/ws", "/echo", 1)))
	if status, _ := r.readResponse(); status != 404 {
		t.Fatalf("/echo without Echo: status %d, want 404", status)
	}

	srv := startServer(t, Config{Echo: true})
	c, _, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, m := range []struct {
		typ  int
		data []byte
	}{
		{websocket.TextMessage, []byte("héllo")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 255}},
		{websocket.TextMessage, bytes.Repeat([]byte("x"), 60000)},
	} {
		if err := c.WriteMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(readTimeout))
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("message %d: got type %d len %d err %v", i, typ, len(got), err)
		}
	}
	// A fragmented message comes back reassembled.
	rc := dialRaw(t, srv.Addr())
	rc.upgrade("/echo", append(frame(ws.OpBinary, false, []byte("ab"), true), frame(ws.OpContinuation, true, []byte("cd"), true)...))
	if h, p := rc.readFrame(); h.OpCode != ws.OpBinary || !h.Fin || string(p) != "abcd" {
		t.Fatalf("got %v fin=%v %q", h.OpCode, h.Fin, p)
	}
}

func TestServerPingsAndDropsSilentClients(t *testing.T) {
	// The pong timeout is generous: on a loaded machine (-race, other
	// packages' tests) a reader goroutine can wait a second to be run.
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, PingInterval: 100 * time.Millisecond, PongTimeout: 3 * time.Second})
	// gorilla answers pings while it is reading: it must stay connected.
	alive := dialWS(t, srv.Addr())
	var pings atomic.Int32
	alive.c.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	alive.subscribe("keep")
	got := make(chan string, 1)
	go func() {
		_ = alive.c.SetReadDeadline(time.Now().Add(3 * readTimeout)) // past the silent one's drop
		p, err := alive.readMsg()
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(p)
	}()
	// A raw client that never answers is closed with 4002.
	silent := dialRaw(t, srv.Addr())
	silent.upgrade("/ws", nil)
	h, _ := silent.readFrame()
	if h.OpCode != ws.OpPing {
		t.Fatalf("first server frame %v, want ping", h.OpCode)
	}
	if code := silent.expectClose(); code != 4002 {
		t.Fatalf("close code %d, want 4002", code)
	}
	// Meanwhile the answering client passed the same check: a second ping
	// is sent only after a pong came in time.
	for deadline := time.Now().Add(readTimeout); pings.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the answering client saw %d pings, want a second one after its pong", pings.Load())
		}
	}
	if _, err := srv.Publish("keep", []byte(`"still here"`)); err != nil {
		t.Fatal(err)
	}
	if m := <-got; !strings.Contains(m, `"data":"still here"`) {
		t.Fatalf("answering client got %q", m)
	}
}

func TestOriginCheck(t *testing.T) {
	srv := startServer(t, Config{AllowedOrigins: []string{"https://good.example"}})
	for origin, want := range map[string]int{"https://good.example": 101, "https://evil.example": 403} {
		r := dialRaw(t, srv.Addr())
		r.write([]byte(strings.Replace(upgradeRequest, "Host: test\r\n", "Host: test\r\nOrigin: "+origin+"\r\n", 1)))
		if status, _ := r.readResponse(); status != want {
			t.Errorf("origin %s: status %d, want %d", origin, status, want)
		}
	}
}

func TestPublishFromClientReachesOtherLoops(t *testing.T) {
	srv := startServer(t, Config{Loops: 4})
	var clients []*wsClient
	for i := 0; i < 12; i++ { // round-robin spreads them over all loops
		c := dialWS(t, srv.Addr())
		c.subscribe("spread")
		clients = append(clients, c)
	}
	for i := 1; i <= 5; i++ {
		clients[i].send(fmt.Sprintf(`{"op":"pub","ch":"spread","data":%d}`, i))
	}
	for _, c := range clients {
		for seq := 1; seq <= 5; seq++ {
			c.expect(map[string]any{"op": "msg", "seq": seq})
		}
	}
	if n := len(*srv.loops.Load()); n != 4 {
		t.Fatalf("connections used %d loops, want 4", n)
	}
}
