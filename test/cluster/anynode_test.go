//go:build unix

package cluster

import (
	"testing"
	"time"
)

// TestConsecutiveRequestsOnDifferentNodes: clients whose every next
// request goes to another node. A long-poller sends each poll's cursor to
// the next node; SSE, chunked stream and iframe clients end their response
// every few messages and resume on the next node (Last-Event-ID, or
// positions); a WebSocket is cut every ten publishes and resubscribes with
// since on the next node; POST /send goes to each node in turn. Nothing is
// lost or duplicated, and each client really used every node.
func TestConsecutiveRequestsOnDifferentNodes(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}, noProxy: true})
	channels := []string{"room:x", "room:y", "room:z"}
	urls := c.urls(false)

	var recs []*record
	var rotating []*httpSub
	for _, s := range []struct {
		kind  string
		every int
	}{{"poll", 0}, {"poll", 0}, {"sse", 1}, {"sse", 3}, {"stream", 2}, {"iframe", 2}} {
		sub := subscribeHTTP(t, s.kind, s.kind+"-rotating", rotate(urls...), channels, httpOptions{rotateEvery: s.every})
		rotating = append(rotating, sub)
		recs = append(recs, sub.rec)
	}
	ws := subscribeWS(t, "ws-rotating", rotate(c.urls(true)...), channels, wsOptions{})
	recs = append(recs, ws.rec)

	pubs := map[string]publisher{"send-rotating": newSendPub(rotate(urls...))}
	for _, n := range c.nodes {
		pubs["api@"+n.name] = newAPIPub(fixed(n.URL()), nil)
	}
	l := newLedger()
	const perChannel = 12
	publishAll(t, l, pubs, channels, perChannel, func(pub string, k int) {
		// One publisher's pace spreads the cuts over the run.
		if pub == "send-rotating" && k%10 == 9 {
			ws.mu.Lock()
			if ws.conn != nil {
				ws.conn.Close()
			}
			ws.mu.Unlock()
		}
	})
	waitAll(t, l, channels, recs, 45*time.Second)
	verify(t, l, channels, recs, nil)

	for _, s := range rotating {
		if b := s.Bases(); len(b) < len(urls) {
			t.Errorf("%s sent requests to %d nodes only: %v", s.rec.name, len(b), b)
		}
	}
	if ws.rec.Reconnects() < 2 {
		t.Errorf("the rotating WebSocket reconnected %d times, want at least 2", ws.rec.Reconnects())
	}
}
