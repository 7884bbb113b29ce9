//go:build unix

package ops

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/internal/testredis"
)

// The admin listener: health and readiness for anyone (load balancers),
// everything else behind the token (Bearer or Basic), nothing of it on
// the public port.
func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	n := startNode(t, "-admin-token", adminToken, "-api-key", apiKey)
	for _, tc := range []struct {
		path, token string
		want        int
		body        string
	}{
		{"/healthz", "", 200, "ok"},
		{"/readyz", "", 200, "ready"},
		{"/metrics", "", 401, ""},
		{"/metrics", "wrong-token-wrong-token", 401, ""},
		{"/metrics", adminToken, 200, "comet_connections"},
		{"/debug/pprof/", "", 401, ""},
		{"/debug/pprof/", adminToken, 200, "goroutine"},
		{"/debug/pprof/profile?seconds=999", adminToken, 400, "seconds must be"},
		{"/dashboard", "", 401, ""},
		{"/dashboard", adminToken, 200, "<title>Comet"},
		{"/", adminToken, 200, "/metrics"},
		{"/nothing", adminToken, 404, ""},
	} {
		code, hdr, body := get(t, n.AdminURL()+tc.path, tc.token)
		if code != tc.want || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s (token %q): %d %.80q, want %d with %q", tc.path, tc.token, code, body, tc.want, tc.body)
		}
		if code == 401 && !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("GET %s: 401 without a Basic challenge", tc.path)
		}
	}
	// Browsers send the token as a Basic password.
	req, _ := http.NewRequest("GET", n.AdminURL()+"/metrics", nil)
	req.SetBasicAuth("ops", adminToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Basic credentials: %d", resp.StatusCode)
	}
	_, hdr, _ := get(t, n.AdminURL()+"/dashboard", adminToken)
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+n.URL()) {
		t.Errorf("the dashboard's CSP %q does not allow its public URL %s", csp, n.URL())
	}
	// The public port serves none of it.
	for _, p := range []string{"/metrics", "/debug/pprof/", "/dashboard", "/readyz"} {
		if code, _, _ := get(t, n.URL()+p, ""); code != 404 {
			t.Errorf("public GET %s: %d, want 404", p, code)
		}
	}
	// Scanners are warned about, a line every few seconds at most.
	n.log.waitFor(t, "missing or wrong admin token")
}

// A listener on a non-loopback address without a token is refused before
// anything is bound.
func TestAdminNeedsTokenOffLoopback(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cometBin, "-auth", "open", "-addr", freeAddr(t), "-admin-addr", "0.0.0.0:0")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "an admin token is required") {
		t.Fatalf("comet started with a public admin listener and no token: %v\n%s", err, out)
	}
}

// Real clients drive the counters of the binary; the scrape parses.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	n := startNode(t, "-api-key", apiKey)
	a, b := dialWS(t, n.URL(), nil), dialWS(t, n.URL(), nil)
	a.subscribe(t, "room:scrape")
	b.subscribe(t, "room:scrape")
	for i := 0; i < 3; i++ {
		if _, err := n.publish(t, "room:scrape", fmt.Sprintf(`{"i":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*wsClient{a, b} {
		for i := 0; i < 3; i++ {
			c.expect(t, "msg", "")
		}
	}
	m := n.waitMetrics(t, "", "6 deliveries", func(m metricsView) bool { return m.get("comet_messages_delivered_total") == 6 })
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"comet_connections", []string{"transport", "ws"}, 2},
		{"comet_subscriptions", nil, 2},
		{"comet_channels", nil, 1},
		{"comet_messages_published_total", nil, 3},
		{"comet_publish_duration_seconds", nil, 3},
		{"comet_websocket_upgrades_total", nil, 2},
		{"comet_build_info", []string{"version", "dev"}, 1},
		{"comet_config_reloads_total", []string{"result", "applied"}, 0},
		{"comet_ready", nil, 1},
	} {
		if got := m.get(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"process_open_fds", "process_max_fds", "go_goroutines", "comet_sent_bytes_total", "comet_received_bytes_total"} {
		if m.get(name) <= 0 {
			t.Errorf("%s = %v, want > 0", name, m.get(name))
		}
	}
	a.c.Close()
	n.waitMetrics(t, "", "a close counted", func(m metricsView) bool {
		return m.get("comet_connections", "transport", "ws") == 1 && m.get("comet_subscriptions") == 1
	})
}

// The Redis engine's own counters appear next to the node's.
func TestMetricsRedisEngine(t *testing.T) {
	t.Parallel()
	r := testredis.Start(t, testredis.Options{})
	n := startNode(t, "-engine", "redis", "-redis-addrs", r.Addr(), "-api-key", apiKey)
	c := dialWS(t, n.URL(), nil)
	c.subscribe(t, "room:redis")
	if _, err := n.publish(t, "room:redis", `1`); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "msg", "")
	m := n.waitMetrics(t, "", "the redis delivery", func(m metricsView) bool { return m.get("comet_redis_delivered_total") >= 1 })
	if m.get("comet_redis_links_up") != 1 || m.get("comet_redis_channels") != 1 {
		t.Errorf("links up %v, channels %v", m.get("comet_redis_links_up"), m.get("comet_redis_channels"))
	}
	if m.get("comet_engine_call_duration_seconds", "op", "join") < 1 {
		t.Errorf("no join timed")
	}
}

// Out of file descriptors, accepts fail, are counted, and the node goes
// on: after the clients leave, it answers again.
func TestAcceptErrorsCounted(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatal("prlimit (util-linux) is missing")
	}
	n := startNodeWith(t, []string{prlimit, "--nofile=96:96"}, "-max-connections", "10000", "-max-conns-per-ip", "-1")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(waitTimeout)
	for i := 0; i < 300 && time.Now().Before(deadline); i++ {
		c, err := net.DialTimeout("tcp", n.Addr, time.Second)
		if err != nil {
			continue
		}
		conns = append(conns, c)
	}
	// The backlog was shed or paused: now let go and check it counted.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	n.waitMetrics(t, "", "accept errors", func(m metricsView) bool { return m.get("comet_accept_errors_total") > 0 })
	if code, _, _ := get(t, n.URL()+"/healthz", ""); code != 200 {
		t.Fatalf("the node does not answer after running out of descriptors: %d", code)
	}
}
