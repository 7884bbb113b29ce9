//go:build unix

package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

const jwtSecret = "cluster-test-secret-of-at-least-32-bytes"

// token mints the HS256 connection token a backend would give user's
// client (docs/AUTH.md), valid for an hour.
func token(t *testing.T, user, client string) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()}
	if client != "" {
		claims["client"] = client
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// presenceAnswer is the presence body (the WebSocket op's and the API's).
type presenceAnswer struct {
	Op          string `json:"op"`
	Connections int    `json:"connections"`
	Users       int    `json:"users"`
	Clients     []struct {
		User      string `json:"user"`
		Client    string `json:"client"`
		Conn      string `json:"conn"`
		Transport string `json:"transport"`
	} `json:"clients"`
}

// summary lists the entries as user/client/transport, sorted.
func (a presenceAnswer) summary() []string {
	var out []string
	for _, c := range a.Clients {
		out = append(out, c.User+"/"+c.Client+"/"+c.Transport)
	}
	slices.Sort(out)
	return out
}

// askPresence sends {"op":"presence"} on an open WebSocket and returns the
// answer.
func askPresence(c *websocket.Conn, ch string) (presenceAnswer, error) {
	var a presenceAnswer
	if err := c.WriteJSON(map[string]any{"op": "presence", "ch": ch, "id": "q"}); err != nil {
		return a, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return a, err
		}
		var ev event
		if json.Unmarshal(b, &ev) == nil && ev.ID == "q" {
			if ev.Op != "presence" {
				return a, fmt.Errorf("presence answered %s", b)
			}
			return a, json.Unmarshal(b, &a)
		}
	}
}

// apiPresence asks GET /api/presence?user=U (or channel=C) with the key.
func apiPresence(base, param, value string) (presenceAnswer, error) {
	var a presenceAnswer
	req, _ := http.NewRequest("GET", base+"/api/presence?"+param+"="+url.QueryEscape(value), nil)
	req.Header.Set("X-API-Key", apiKey)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return a, fmt.Errorf("GET /api/presence?%s=%s: %s %s", param, value, resp.Status, b)
	}
	return a, json.Unmarshal(b, &a)
}

// waitPresence asks until the answer lists want (sorted summaries), or the
// timeout passes. Presence is written to Redis by the node that holds the
// connection, after its subscribe, so another node sees it a moment later.
func waitPresence(t *testing.T, ask func() (presenceAnswer, error), want []string, timeout time.Duration) presenceAnswer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a, err := ask()
		if err == nil && slices.Equal(a.summary(), want) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence after %s: %v %v, want %v", timeout, a.summary(), err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPresenceAcrossNodes: with identities (JWT tokens the test mints, as a
// backend would), users connected to different nodes, on several
// transports, all appear in the presence any node answers: the WebSocket
// presence op and GET /api/presence?user=U alike. When a node is killed,
// its connections leave presence within -presence-ttl, on the other
// nodes' say.
func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()},
		args: []string{"-auth", "jwt", "-jwt-secret", jwtSecret, "-presence-ttl", "3s"}})
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	const room = "room:lobby"
	q := func(user, client string) string { return "?token=" + url.QueryEscape(token(t, user, client)) }

	subscribeWS(t, "alice/phone@n1", fixed(n1.WS()), []string{room}, wsOptions{query: q("alice", "phone")})
	subscribeWS(t, "alice/laptop@n2", fixed(n2.WS()), []string{room}, wsOptions{query: q("alice", "laptop")})
	subscribeWS(t, "bob/desk@n3", fixed(n3.WS()), []string{room}, wsOptions{query: q("bob", "desk")})
	subscribeWS(t, "carol/web@nginx", fixed(c.proxy.WS()), []string{room}, wsOptions{query: q("carol", "web")})
	subscribeHTTP(t, "sse", "dave/tv@n2", fixed(n2.URL()), []string{room}, httpOptions{query: "&token=" + url.QueryEscape(token(t, "dave", "tv"))})

	// The asker is present too: erin on n1.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	asker, _, err := d.Dial(n1.WS()+"/ws"+q("erin", "pad"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer asker.Close()
	if err := asker.WriteJSON(map[string]any{"op": "sub", "ch": room, "id": "s"}); err != nil {
		t.Fatal(err)
	}

	all := []string{"alice/laptop/ws", "alice/phone/ws", "bob/desk/ws", "carol/web/ws", "dave/tv/sse", "erin/pad/ws"}
	a := waitPresence(t, func() (presenceAnswer, error) { return askPresence(asker, room) }, all, 20*time.Second)
	if a.Connections != 6 || a.Users != 5 {
		t.Errorf("presence counts: %d connections of %d users, want 6 of 5", a.Connections, a.Users)
	}
	for _, n := range c.nodes {
		waitPresence(t, func() (presenceAnswer, error) { return apiPresence(n.URL(), "channel", room) }, all, 10*time.Second)
	}
	// A user's connections across devices and nodes, asked of a node that
	// holds none of them.
	waitPresence(t, func() (presenceAnswer, error) { return apiPresence(n3.URL(), "user", "alice") },
		[]string{"alice/laptop/ws", "alice/phone/ws"}, 10*time.Second)

	// n3 dies with bob's connection: the entry expires (3 s) and the
	// others stop listing it.
	n3.kill()
	without := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return strings.HasPrefix(s, "bob/") })
	// carol may have been on n3 too (nginx chose): she reconnects through
	// nginx and is listed again, wherever she landed.
	waitPresence(t, func() (presenceAnswer, error) { return askPresence(asker, room) }, without, 20*time.Second)
}
