//go:build unix

package cluster

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// lossSubscribers connects, through nginx, WebSocket, SSE, long-poll,
// stream and iframe subscribers (least_conn spreads them over the nodes),
// plus a WebSocket straight on each node in keep.
func lossSubscribers(t *testing.T, c *cluster, channels []string, keep ...*node) (recs []*record, viaProxy []*wsSub) {
	t.Helper()
	for i := range 6 {
		s := subscribeWS(t, "ws@nginx#"+string(rune('a'+i)), fixed(c.proxy.WS()), channels, wsOptions{})
		viaProxy = append(viaProxy, s)
		recs = append(recs, s.rec)
	}
	for _, kind := range []string{"sse", "sse", "sse", "poll", "poll", "poll", "stream", "stream", "iframe"} {
		recs = append(recs, subscribeHTTP(t, kind, kind+"@nginx", fixed(c.proxy.URL()), channels, httpOptions{}).rec)
	}
	for _, n := range keep {
		recs = append(recs, subscribeWS(t, "ws@"+n.name, fixed(n.WS()), channels, wsOptions{}).rec)
	}
	return recs, viaProxy
}

// lossPublishers publish through nginx on every way in, and on each node
// in keep directly.
func lossPublishers(t *testing.T, c *cluster, keep ...*node) map[string]publisher {
	pubs := map[string]publisher{
		"api@nginx":  newAPIPub(fixed(c.proxy.URL()), nil),
		"send@nginx": newSendPub(fixed(c.proxy.URL())),
	}
	w := newWSPub(fixed(c.proxy.WS()))
	t.Cleanup(w.close)
	pubs["ws@nginx"] = w
	for _, n := range keep {
		pubs["api@"+n.name] = newAPIPub(fixed(n.URL()), nil)
	}
	return pubs
}

// TestNodeKilled: kill -9 of one of three nodes mid-conversation. Its
// clients reconnect through nginx to the others and lose nothing that was
// acknowledged; publishers whose request died with the node retry with
// their idempotency key and are stored once.
func TestNodeKilled(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}})
	channels := []string{"room:k1", "room:k2"}
	victim, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	recs, viaProxy := lossSubscribers(t, c, channels, n2, n3)
	pubs := lossPublishers(t, c, n2)

	l := newLedger()
	var once sync.Once
	publishAll(t, l, pubs, channels, 30, func(pub string, k int) {
		if pub == "api@nginx" && k == 20 {
			once.Do(victim.kill)
		}
	})
	if victim.running() {
		t.Fatal("the victim node still runs")
	}
	waitAll(t, l, channels, recs, 45*time.Second)
	verify(t, l, channels, recs, nil)

	moved := 0
	for _, s := range viaProxy {
		moved += s.rec.Reconnects()
	}
	if moved == 0 {
		t.Errorf("no WebSocket through nginx lost its connection: none was on the killed node")
	}
	t.Logf("%d of %d WebSockets through nginx moved to another node", moved, len(viaProxy))
}

// TestNodeDrainedAndJoined: a node drained with SIGTERM moves its clients
// (WebSockets closed with 1001, streams ended with a close event, parked
// polls answered) through nginx to the others, and exits cleanly; then a
// new node joins, nginx is reloaded with it, and new clients reach it.
// No other node restarts and nothing acknowledged is lost.
func TestNodeDrainedAndJoined(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}})
	channels := []string{"room:d1", "room:d2"}
	drained, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	recs, viaProxy := lossSubscribers(t, c, channels, n2)
	pubs := lossPublishers(t, c, n3)

	l := newLedger()
	var once sync.Once
	var stopErr error
	publishAll(t, l, pubs, channels, 20, func(pub string, k int) {
		if pub == "api@nginx" && k == 12 {
			once.Do(func() { stopErr = drained.stop() })
		}
	})
	if stopErr != nil {
		t.Fatalf("drained node: %v\n%s", stopErr, drained.log)
	}

	// A fourth node joins; nginx learns of it by a reload.
	n4 := c.addNode("n4")
	c.proxy.reload(c.addrs()...)
	late := subscribeWS(t, "ws@n4", fixed(n4.WS()), channels, wsOptions{})
	from := map[string]uint64{}
	for _, ch := range channels {
		from[ch] = l.top(ch) + 1
	}
	publishAll(t, l, map[string]publisher{"api@nginx#2": newAPIPub(fixed(c.proxy.URL()), nil)}, channels, 10, nil)
	all := append(recs, late.rec)
	waitAll(t, l, channels, all, 45*time.Second)
	verify(t, l, channels, recs, nil)
	verify(t, l, channels, []*record{late.rec}, from)

	moved := 0
	for _, s := range viaProxy {
		moved += s.rec.Reconnects()
	}
	if moved == 0 {
		t.Errorf("no WebSocket through nginx was moved by the drain")
	}
	goingAway := 0
	for _, s := range viaProxy {
		goingAway += s.rec.CloseCodes()[1001]
	}
	if goingAway == 0 {
		t.Errorf("no WebSocket through nginx was closed with 1001 by the drain")
	}
	if !strings.Contains(drained.log.String(), "draining") {
		t.Errorf("the drained node did not log draining:\n%s", drained.log)
	}
}
