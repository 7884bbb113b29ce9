package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// Reload changes a limit, the API key and the allowed origins while
// clients stay connected; fields that need a restart are named, and an
// invalid configuration changes nothing.
func TestReloadWhileConnected(t *testing.T) {
	cfg := Config{Addr: "127.0.0.1:0", APIKey: "old-key", MaxSubscriptions: 128}
	srv := startServer(t, cfg)
	c := dialWS(t, srv.Addr())
	c.subscribe("a")
	c.subscribe("b")

	next := cfg
	next.APIKey = "new-key"
	next.MaxSubscriptions = 2
	next.AllowedOrigins = []string{"https://good.example"}
	next.Loops = 7 // cannot change live
	next.MaxMessageBytes = 1024
	late := dialRaw(t, srv.Addr()) // upgraded before the reload
	late.upgrade("/ws", nil)
	restart, err := srv.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(restart, []string{"Loops"}) {
		t.Fatalf("restart needed for %v, want [Loops]", restart)
	}
	// The connection is still there and now meets the new limit.
	c.send(`{"op":"sub","ch":"c","id":"s3"}`)
	c.expect(map[string]any{"op": "err", "id": "s3", "code": 429})
	c.send(`{"op":"ping","id":"p"}`)
	c.expect(map[string]any{"op": "pong", "id": "p"})
	// An input limit too, on a connection opened before: a message over
	// the new cap is refused as too big (it was 64 KiB).
	late.write(frame(ws.OpText, true, []byte(strings.Repeat("x", 2048)), true))
	if code := late.expectClose(); code != 1009 {
		t.Fatalf("a 2 KiB message after the cap went to 1 KiB: close %d, want 1009", code)
	}
	// The new key opens the API, the old one no longer does.
	for key, want := range map[string]int{"old-key": 401, "new-key": 200} {
		status, _, body := trDo(t, "POST", "http://"+srv.Addr()+"/api/publish",
			`{"channel":"a","data":1}`, "Authorization", "Bearer "+key)
		if status != want {
			t.Fatalf("key %s: %d %s, want %d", key, status, body, want)
		}
	}
	c.expect(map[string]any{"op": "msg", "ch": "a"})
	// New WebSockets meet the new origins.
	h := map[string][]string{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws", h); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("evil origin after reload: %v %v", resp, err)
	}
	// An invalid configuration is refused whole.
	bad := next
	bad.APIKey = "newer"
	bad.MaxMessageBytes = -5
	if _, err := srv.Reload(bad); err == nil {
		t.Fatal("an invalid reload was accepted")
	}
	if status, _, _ := trDo(t, "POST", "http://"+srv.Addr()+"/api/publish", `{"channel":"a","data":2}`,
		"Authorization", "Bearer new-key"); status != 200 {
		t.Fatalf("after a refused reload the key changed: %d", status)
	}
}

// Shutdown with a DrainWindow closes the clients spread over the window,
// each with 1001, instead of all at once.
func TestDrainSpreadsClosesOverTheWindow(t *testing.T) {
	const clients, window = 40, 1500 * time.Millisecond
	srv := startServer(t, Config{DrainWindow: window})
	var mu sync.Mutex
	var closedAt []time.Time
	var wg sync.WaitGroup
	for range clients {
		c := dialWS(t, srv.Addr())
		c.subscribe("room")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.c.SetReadDeadline(time.Now().Add(window + 10*time.Second))
			for {
				if _, _, err := c.c.ReadMessage(); err != nil {
					if websocket.IsCloseError(err, 1001) {
						mu.Lock()
						closedAt = append(closedAt, time.Now())
						mu.Unlock()
					}
					return
				}
			}
		}()
	}
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(closedAt) != clients {
		t.Fatalf("%d of %d clients got 1001", len(closedAt), clients)
	}
	slices.SortFunc(closedAt, func(a, b time.Time) int { return a.Compare(b) })
	first, last := closedAt[0].Sub(start), closedAt[len(closedAt)-1].Sub(start)
	// Generous bounds: the spread is what matters, not the timing.
	if spread := last - first; spread < window/2 {
		t.Fatalf("closes spread over %v (first at %v, last at %v), want at least %v", spread, first, last, window/2)
	}
	if first > window/2 {
		t.Fatalf("the first close came %v after Shutdown, want within the first half of the window", first)
	}
}
