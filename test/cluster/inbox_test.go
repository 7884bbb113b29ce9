//go:build unix

package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The inbox on Redis (-inbox on with the Redis engine): a message the
// backend gives one node for a user is in that user's log for every node;
// a device that was away gets it on whichever node it comes back to, in
// order, then live ones with no gap; its acknowledgement, made on one
// node, is what every node reads.
func TestInboxAcrossNodes(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}, noProxy: true,
		args: []string{"-auth", "demo", "-jwt-secret", strings.Repeat("i", 32), "-inbox", "on"}})
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	tok := demoToken(t, n1.URL(), "alice")
	device := func(n *node) *websocket.Conn {
		t.Helper()
		ws, _, err := websocket.DefaultDialer.Dial(n.WS()+"/ws?device=phone&token="+url.QueryEscape(tok), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ws // joined to user:alice without asking
	}
	type wire struct {
		Op, Ch, ID string
		Seq        uint64
		Data       struct{ N int }
	}
	next := func(ws *websocket.Conn, op string) wire {
		t.Helper()
		for {
			_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, p, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %s: %v", op, err)
			}
			var m wire
			_ = json.Unmarshal(p, &m)
			if m.Op == "err" {
				t.Fatalf("waiting for %s: %s", op, p)
			}
			if m.Op == op && (op != "msg" || m.Seq > 0) {
				return m
			}
		}
	}
	publish := func(n *node, k int) {
		t.Helper()
		body := fmt.Sprintf(`{"user":"alice","data":{"n":%d},"idempotency_key":"k%d"}`, k, k)
		req, _ := http.NewRequest("POST", n.URL()+"/api/publish", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"seq":`)) {
			t.Fatalf("publish %d on %s: %s %s", k, n.name, resp.Status, b)
		}
	}

	// The phone is seen once (registered at the log's top), then goes away.
	ws := device(n1)
	next(ws, "connected")
	// The device is registered when the join has read its position: an
	// ack answered proves the join is done.
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"ack","ch":"user:alice","seq":0,"id":"r"}`))
	next(ws, "ok")
	ws.Close()
	for k := 1; k <= 5; k++ {
		publish(c.nodes[k%3], k)
	}
	// Back on another node: the five it missed, in order, then live.
	ws = device(n2)
	defer ws.Close()
	for k := 1; k <= 5; k++ {
		if m := next(ws, "msg"); m.Seq != uint64(k) || m.Data.N != k {
			t.Fatalf("replay %d: seq %d n %d", k, m.Seq, m.Data.N)
		}
	}
	publish(n3, 6)
	if m := next(ws, "msg"); m.Seq != 6 || m.Data.N != 6 {
		t.Fatalf("live after the replay: seq %d n %d, want 6", m.Seq, m.Data.N)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"ack","ch":"user:alice","seq":6,"id":"a"}`))
	next(ws, "ok")
	// Every node reads the phone's position from Redis.
	req, _ := http.NewRequest("GET", n3.URL()+"/api/inbox?user=alice", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Top     uint64
		Devices []struct {
			Device string
			Acked  uint64
		}
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Top != 6 || len(st.Devices) != 1 || st.Devices[0].Device != "phone" || st.Devices[0].Acked != 6 {
		t.Fatalf("GET /api/inbox on n3: %s %v, want top 6 and the phone at 6", b, err)
	}
}
