package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/broker/memory"
	"github.com/gobwas/ws"
)

// Limits and lifetimes the docs promise, each exercised through real
// clients.

// The engine's channel limit: a publish that would create one channel too
// many is refused with 503 on every door, existing channels keep working,
// and subscribing creates nothing, so naming channels cannot use the
// limit up.
func TestMaxChannels(t *testing.T) {
	engine, err := memory.New(memory.Config{MaxChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{Broker: engine})
	c := dialWS(t, srv.Addr())
	for i := 0; i < 10; i++ {
		c.subscribe(fmt.Sprintf("named%d", i)) // costs nothing durable
	}
	c.subscribe("one")
	mustPublish(t, srv, "one", 1)
	mustPublish(t, srv, "two", 1)
	c.expect(map[string]any{"op": "msg", "ch": "one", "seq": 1})
	c.send(`{"op":"pub","ch":"three","data":1,"id":"x"}`)
	c.expect(map[string]any{"op": "err", "id": "x", "code": 503})
	if status, body := httpPublish(t, srv.Addr(), "", `{"channel":"four","data":1}`); status != 503 {
		t.Fatalf("API publish to a new channel: %d %s, want 503", status, body)
	}
	if status, body := httpPublish(t, srv.Addr(), "", `{"channel":"one","data":2}`); status != 200 {
		t.Fatalf("API publish to an existing channel: %d %s", status, body)
	}
	c.expect(map[string]any{"op": "msg", "ch": "one", "seq": 2})
}

// A channel with no subscriber and nothing left in history is dropped once
// -history-ttl has passed: channel names published to once do not pile up.
func TestIdleChannelsAreDropped(t *testing.T) {
	clock := newTestClock()
	srv := startServer(t, Config{HistoryTTL: time.Minute, Now: clock.Now})
	engine := engineOf(t, srv)
	for _, ch := range []string{"a", "b", "c"} {
		mustPublish(t, srv, ch, 1)
	}
	if n := engine.Stats().Channels; n != 3 {
		t.Fatalf("%d channels after publishing, want 3", n)
	}
	clock.Advance(61 * time.Second)
	engine.Sweep()
	if n := engine.Stats().Channels; n != 0 {
		t.Fatalf("%d channels still held after their history expired", n)
	}
}

// History older than -history-ttl is not replayed: a late since is told
// that recovery failed.
func TestHistoryTTL(t *testing.T) {
	clock := newTestClock()
	srv := startServer(t, Config{HistoryTTL: time.Minute, Now: clock.Now})
	holder := dialWS(t, srv.Addr()) // keeps the channel alive
	holder.subscribe("ttl")
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "ttl", i)
	}
	fresh := dialWS(t, srv.Addr())
	fresh.send(`{"op":"sub","ch":"ttl","since":1,"id":"a"}`)
	fresh.expect(map[string]any{"op": "sub", "recovered": true})
	fresh.expect(map[string]any{"op": "msg", "seq": 2})
	fresh.expect(map[string]any{"op": "msg", "seq": 3})

	clock.Advance(2 * time.Minute)
	late := dialWS(t, srv.Addr())
	late.send(`{"op":"sub","ch":"ttl","since":1,"id":"b"}`)
	late.expect(map[string]any{"op": "sub", "seq": 3, "recovered": false})
	late.send(`{"op":"ping","id":"next"}`) // and nothing was replayed
	late.expect(map[string]any{"op": "pong", "id": "next"})
}

// A body of unknown length is sent chunked by net/http: both body-taking
// endpoints accept it. The API key may also come as X-API-Key.
func TestChunkedBodiesAndAPIKeyHeader(t *testing.T) {
	srv := startServer(t, Config{APIKey: "k"})
	c := dialWS(t, srv.Addr())
	c.subscribe("chunked")
	post := func(path string, header map[string]string, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+srv.Addr()+path, io.MultiReader(strings.NewReader(body)))
		req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Timeout: readTimeout}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("/api/publish", map[string]string{"X-API-Key": "k"}, `{"channel":"chunked","data":"api"}`); status != 200 || !strings.HasPrefix(body, `{"seq":1,"epoch":"`) {
		t.Fatalf("chunked API publish: %d %s", status, body)
	}
	if status, body := post("/send", nil, `{"op":"pub","ch":"chunked","data":"send","id":"s"}`); status != 200 || body != `{"op":"ok","id":"s","seq":2}` {
		t.Fatalf("chunked send: %d %s", status, body)
	}
	if status, _ := post("/api/publish", map[string]string{"X-API-Key": "wrong"}, `{"channel":"chunked","data":1}`); status != 401 {
		t.Fatalf("wrong X-API-Key: status %d, want 401", status)
	}
	c.expect(map[string]any{"op": "msg", "seq": 1, "data": "api"})
	c.expect(map[string]any{"op": "msg", "seq": 2, "data": "send"})
}

// A client that never answers the server's close frame is cut off after
// CloseTimeout, and the drain does not wait for it any longer.
func TestShutdownDoesNotWaitForSilentClients(t *testing.T) {
	srv := startServer(t, Config{CloseTimeout: 200 * time.Millisecond, Tick: 10 * time.Millisecond})
	r := dialRaw(t, srv.Addr())
	r.upgrade("/ws", nil)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- srv.Shutdown(context.Background()) }()
	h, p := r.readFrame()
	if h.OpCode != ws.OpClose || len(p) < 2 || int(p[0])<<8|int(p[1]) != 1001 {
		t.Fatalf("got %v %q, want close 1001", h.OpCode, p)
	}
	r.expectEOF() // we never replied: the server closes on its own
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %v with a 200 ms close timeout", took)
	}
}
