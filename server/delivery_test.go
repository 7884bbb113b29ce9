package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
)

// 1,000 subscribers each receive 1,000 messages, none lost, all in order.
// The subscribers use gobwas/ws's client helpers to keep a thousand
// readers light; the protocol checks above use gorilla.
func TestFanOutThousandByThousand(t *testing.T) {
	const subs, msgs = 1000, 1000
	// Pings wait behind the messages queued for a reader; under -race on a
	// loaded machine a thousand readers may take longer than PongTimeout
	// to reach one. Heartbeats have their own tests.
	srv := startServer(t, Config{Loops: 2, MaxOutboundBytes: 8 << 20, PingInterval: 10 * time.Minute})
	conns := make([]net.Conn, subs)
	for i := range conns {
		c, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		if err := wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"fan"}`)); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// Wait for every subscribe reply before publishing.
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(readTimeout))
		if p, err := readServerMsg(c); err != nil || !json.Valid(p) {
			t.Fatalf("sub reply %d: %q %v", i, p, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m struct {
				Seq  uint64 `json:"seq"`
				Data int    `json:"data"`
			}
			for want := uint64(1); want <= msgs; want++ {
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				p, err := readServerMsg(c)
				if err != nil {
					errs <- fmt.Errorf("after seq %d: %v", want-1, err)
					return
				}
				if err := json.Unmarshal(p, &m); err != nil || m.Seq != want || m.Data != int(want) {
					errs <- fmt.Errorf("got %s, want seq %d", p, want)
					return
				}
			}
		}()
	}
	for i := 1; i <= msgs; i++ {
		if _, err := srv.Publish("fan", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A client that reconnects with since gets exactly what it missed.
func TestRecoveryWithSince(t *testing.T) {
	srv := startServer(t, Config{HistorySize: 5})
	a := dialWS(t, srv.Addr())
	r := a.subscribe("chat")
	empty := r["epoch"].(string) // the channel has no stream yet
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "chat", i)
		a.expect(map[string]any{"op": "msg", "seq": i})
	}
	// The stream's epoch came with its first message.
	epoch := a.epochs["chat"]
	if !strings.HasPrefix(empty, ".") || epoch == "" || epoch == empty {
		t.Fatalf("sub reply epoch %q, then epoch event %q: want an empty epoch, then the stream's", empty, epoch)
	}
	a.c.Close()
	for i := 4; i <= 6; i++ {
		mustPublish(t, srv, "chat", i)
	}

	b := dialWS(t, srv.Addr())
	b.send(`{"op":"sub","ch":"chat","since":3,"epoch":"` + epoch + `","id":"r"}`)
	b.expect(map[string]any{"op": "sub", "seq": 6, "recovered": true, "epoch": epoch})
	for i := 4; i <= 6; i++ {
		b.expect(map[string]any{"op": "msg", "seq": i, "data": i})
	}
	mustPublish(t, srv, "chat", 7) // live delivery follows the replay, no duplicate
	b.expect(map[string]any{"op": "msg", "seq": 7})

	// History keeps 5 (3..7): since 1 cannot be fully recovered; what is
	// kept is replayed and the reply says so.
	c := dialWS(t, srv.Addr())
	c.send(`{"op":"sub","ch":"chat","since":1,"id":"old"}`)
	c.expect(map[string]any{"op": "sub", "seq": 7, "recovered": false})
	for i := 3; i <= 7; i++ {
		c.expect(map[string]any{"op": "msg", "seq": i})
	}

	// A since from another epoch (a restarted node) is not trusted.
	d := dialWS(t, srv.Addr())
	d.send(`{"op":"sub","ch":"chat","since":7,"epoch":"other","id":"e"}`)
	d.expect(map[string]any{"op": "sub", "recovered": false})

	// A client that kept the empty epoch of its first sub reply (it missed
	// the epoch event) still recovers: the stream began right after.
	f := dialWS(t, srv.Addr())
	f.send(`{"op":"sub","ch":"chat","since":6,"epoch":"` + empty + `","id":"f"}`)
	f.expect(map[string]any{"op": "sub", "seq": 7, "recovered": true, "epoch": epoch})
	f.expect(map[string]any{"op": "msg", "seq": 7})

	// Up to date: nothing to replay, recovered.
	e := dialWS(t, srv.Addr())
	e.send(`{"op":"sub","ch":"chat","since":7,"id":"now"}`)
	e.expect(map[string]any{"op": "sub", "seq": 7, "recovered": true})
	e.send(`{"op":"ping","id":"next"}`)
	e.expect(map[string]any{"op": "pong", "id": "next"})
}

func mustPublish(t testing.TB, srv *Server, ch string, v int) {
	t.Helper()
	if _, err := srv.Publish(ch, []byte(strconv.Itoa(v))); err != nil {
		t.Fatal(err)
	}
}

// A client that stops reading is cut off once its queue passes the budget,
// while the others keep receiving everything.
func TestSlowConsumerIsCutOff(t *testing.T) {
	srv := startServer(t, Config{MaxOutboundBytes: 256 << 10})
	slow, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// Keep the kernel's buffers small so the server's queue fills quickly.
	_ = slow.(*net.TCPConn).SetReadBuffer(4096)
	if err := wsutil.WriteClientText(slow, []byte(`{"op":"sub","ch":"firehose"}`)); err != nil {
		t.Fatal(err)
	}
	fast := dialWS(t, srv.Addr())
	fast.subscribe("firehose")
	time.Sleep(50 * time.Millisecond) // the slow subscription is in place

	payload := []byte(`"` + strings.Repeat("x", 8000) + `"`)
	// 2,000 × 8 KB = 16 MB: past what loopback's kernel buffers absorb
	// (send buffers autotune to 4 MB) and far past the budget. Publishing
	// is paced by the fast client, which must never fall behind.
	const n = 2000
	received := make(chan error, n)
	go func() {
		for i := 1; i <= n; i++ {
			_ = fast.c.SetReadDeadline(time.Now().Add(readTimeout))
			p, err := fast.readMsg()
			if err == nil && !strings.Contains(string(p), fmt.Sprintf(`"seq":%d,`, i)) {
				err = fmt.Errorf("fast client got %.60s, want seq %d", p, i)
			}
			received <- err
			if err != nil {
				return
			}
		}
	}()
	for i := 1; i <= n; i++ {
		if _, err := srv.Publish("firehose", payload); err != nil {
			t.Fatal(err)
		}
		if err := <-received; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(readTimeout)
	for srv.Stats().Closed["slow consumer"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("slow client not cut off: %+v", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Shutdown sends 1001 to every WebSocket and returns once they are gone.
func TestShutdownClosesWith1001(t *testing.T) {
	srv := startServer(t, Config{})
	clients := []*wsClient{dialWS(t, srv.Addr()), dialWS(t, srv.Addr())}
	for _, c := range clients {
		c.subscribe("bye")
	}
	codes := make(chan int, len(clients))
	for _, c := range clients {
		go func() { codes <- c.expectCloseCode() }()
	}
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range clients {
		if code := <-codes; code != 1001 {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	// gorilla answers the close frame, so the drain need not wait for the
	// close timeout (2 s) or the drain deadline (10 s).
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Fatal("server still accepts after shutdown")
	}
}

// expectCloseCode is expectClose for use off the test goroutine: -1 when
// the connection ended without a close frame.
func (w *wsClient) expectCloseCode() int {
	_ = w.c.SetReadDeadline(time.Now().Add(readTimeout))
	for {
		if _, _, err := w.c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
}
