//go:build unix

package cluster

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// demoToken asks base's GET /demo/token?user=U for a token.
func demoToken(t *testing.T, base, user string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/demo/token?user=" + url.QueryEscape(user))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &r) != nil || r.Token == "" {
		t.Fatalf("GET /demo/token on %s: %s %s", base, resp.Status, b)
	}
	return r.Token
}

// TestDemoTokensAcrossNodes: with -auth demo and a shared -jwt-secret (what
// scripts/cluster.sh runs for newcomers), a browser behind nginx fetches its token from one node
// and opens its WebSocket, or its next poll, on whichever node nginx
// picks. Any node must accept a demo token another node minted, or the
// demo works only on the node that minted it.
func TestDemoTokensAcrossNodes(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}, noProxy: true, args: []string{"-auth", "demo", "-jwt-secret", strings.Repeat("s", 32)}})
	tok := demoToken(t, c.nodes[0].URL(), "alice")
	for _, n := range c.nodes {
		s := subscribeWS(t, "alice@"+n.name, fixed(n.WS()), []string{"room:demo"}, wsOptions{query: "?token=" + url.QueryEscape(tok)})
		s.close()
	}
}
