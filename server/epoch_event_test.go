package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestNewStreamEpochEventPrecedesItsMessage: a real client subscribed to a
// channel with no stream yet gets, on the stream's first publish, the epoch
// event and then the message (both now leave in one writev, session.take),
// and the message is on the epoch the event named. WebSocket and SSE: the
// two framings of the shared path (a frame each; an id line and an event).
func TestNewStreamEpochEventPrecedesItsMessage(t *testing.T) {
	srv := startServer(t, Config{})

	t.Run("websocket", func(t *testing.T) {
		w := dialWS(t, srv.Addr())
		if sub := w.subscribe("fresh-ws"); !strings.HasPrefix(sub["epoch"].(string), ".") {
			t.Fatalf("the channel had a stream before the test: %v", sub)
		}
		mustPublish(t, srv, "fresh-ws", 1)
		var frames []map[string]any
		for range 2 {
			_ = w.c.SetReadDeadline(time.Now().Add(readTimeout))
			_, p, err := w.c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				t.Fatalf("not JSON: %q", p)
			}
			frames = append(frames, m)
		}
		ev, msg := frames[0], frames[1]
		if ev["op"] != "epoch" || ev["ch"] != "fresh-ws" || strings.HasPrefix(ev["epoch"].(string), ".") {
			t.Fatalf("first frame %v, want the stream's epoch event", ev)
		}
		if msg["op"] != "msg" || msg["seq"] != float64(1) {
			t.Fatalf("second frame %v, want message 1", msg)
		}
	})

	t.Run("sse", func(t *testing.T) {
		_, lr := openStreamHTTP(t, trURL(srv.Addr(), "/sse", "ch", "fresh-sse"))
		if _, _, err := lr.sseOpen(); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, srv, "fresh-sse", 1)
		ev, err := lr.event()
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Op, Ch, Epoch string }
		if err := json.Unmarshal([]byte(ev.Data), &e); err != nil || e.Op != "epoch" || e.Ch != "fresh-sse" || strings.HasPrefix(e.Epoch, ".") {
			t.Fatalf("first event %+v, want the stream's epoch event", ev)
		}
		id, m, err := lr.sseMsg()
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != 1 || !strings.Contains(id, "fresh-sse~"+e.Epoch+"~1") {
			t.Fatalf("message %+v with id %q, want seq 1 on epoch %s", m, id, e.Epoch)
		}
	})
}
