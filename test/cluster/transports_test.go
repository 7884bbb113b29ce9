//go:build unix

package cluster

import (
	"testing"
	"time"
)

// TestEveryTransportOnEveryNode: three nodes on one Redis behind nginx;
// subscribers on every transport (WebSocket, SSE, long-poll, chunked
// stream, iframe), each on a node of its own or through nginx; publishers
// on every node (the API, WebSocket pubs) and through nginx (POST /send,
// the API). Every subscriber receives every message, gapless, once, in one
// order per channel.
func TestEveryTransportOnEveryNode(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}})
	channels := []string{"room:a", "room:b"}
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	px := c.proxy

	var recs []*record
	for _, b := range []struct{ name, ws string }{{"n1", n1.WS()}, {"n2", n2.WS()}, {"n3", n3.WS()}, {"nginx", px.WS()}} {
		recs = append(recs, subscribeWS(t, "ws@"+b.name, fixed(b.ws), channels, wsOptions{}).rec)
	}
	for _, s := range []struct{ kind, name, base string }{
		{"sse", "n1", n1.URL()}, {"sse", "n2", n2.URL()}, {"sse", "nginx", px.URL()},
		{"poll", "n2", n2.URL()}, {"poll", "n3", n3.URL()}, {"poll", "nginx", px.URL()},
		{"stream", "n3", n3.URL()}, {"stream", "n1", n1.URL()}, {"stream", "nginx", px.URL()},
		{"iframe", "n1", n1.URL()}, {"iframe", "n3", n3.URL()}, {"iframe", "nginx", px.URL()},
	} {
		recs = append(recs, subscribeHTTP(t, s.kind, s.kind+"@"+s.name, fixed(s.base), channels, httpOptions{}).rec)
	}

	pubs := map[string]publisher{}
	for _, n := range c.nodes {
		pubs["api@"+n.name] = newAPIPub(fixed(n.URL()), nil)
		w := newWSPub(fixed(n.WS()))
		t.Cleanup(w.close)
		pubs["ws@"+n.name] = w
	}
	pubs["api@nginx"] = newAPIPub(fixed(px.URL()), nil)
	pubs["send@nginx"] = newSendPub(fixed(px.URL()))

	l := newLedger()
	const perChannel = 10
	publishAll(t, l, pubs, channels, perChannel, nil)
	for _, ch := range channels {
		if got, want := l.count(ch), perChannel*len(pubs); got != want {
			t.Fatalf("%s: %d publishes acknowledged, want %d", ch, got, want)
		}
	}
	waitAll(t, l, channels, recs, 30*time.Second)
	verify(t, l, channels, recs, nil)
	if t.Failed() {
		for _, n := range c.nodes {
			t.Logf("--- node %s ---\n%s", n.name, n.log)
		}
		t.Logf("--- nginx ---\n%s", px.errorLog())
	}
}
