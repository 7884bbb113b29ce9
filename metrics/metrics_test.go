package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/metrics"
	"github.com/comet-im/comet/server"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const timeout = 10 * time.Second

// node is a real server with the collector behind a real HTTP scrape.
type node struct {
	srv    *server.Server
	scrape string // URL of /metrics
}

func startNode(t *testing.T, cfg server.Config) *node {
	t.Helper()
	b, err := memory.New(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Broker, cfg.Presence = "127.0.0.1:0", b, memory.NewPresence(nil)
	cfg.InsecureAPI = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(srv))
	h := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	t.Cleanup(h.Close)
	return &node{srv: srv, scrape: h.URL}
}

// families scrapes and parses the exposition with Prometheus's own text
// parser, which also rejects anything malformed.
func (n *node) families(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(n.scrape)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// value is a sample's value (a histogram's count), 0 when absent; labels
// are name, value pairs that must all match.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// waitFor scrapes until cond holds, or fails after the timeout.
func (n *node) waitFor(t *testing.T, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fams := n.families(t)
		if cond(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen in the metrics within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dialWS(t *testing.T, addr string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: timeout}
	c, resp, err := d.Dial("ws://"+addr+"/ws", header)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// subscribe joins ch and waits for the reply.
func subscribe(t *testing.T, c *websocket.Conn, ch string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","ch":"`+ch+`","id":"s"}`)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(p), `"op":"sub"`) {
			return
		}
	}
}

// stream opens an HTTP transport and reads until its first event.
func stream(t *testing.T, addr, path string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.Contains(line, `"op":"open"`) {
			return
		}
	}
}

func publish(t *testing.T, addr, ch, data string) {
	t.Helper()
	body := fmt.Sprintf(`{"channel":%q,"data":%s}`, ch, data)
	resp, err := http.Post("http://"+addr+"/api/publish", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %s", resp.Status)
	}
}

// closeCode reads until the connection closes and returns its close code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if e, ok := err.(*websocket.CloseError); ok {
				ce = e
				return ce.Code
			}
			t.Fatalf("read ended without a close frame: %v", err)
		}
	}
}

// Every counter and gauge of the collector, driven through real clients
// on every transport, scraped over HTTP and parsed by Prometheus's parser.
func TestMetricsAfterRealTraffic(t *testing.T) {
	n := startNode(t, server.Config{Loops: 2, MaxMessageBytes: 1024, MaxOutboundBytes: 256 << 10})
	addr := n.srv.Addr()
	fams := n.families(t)
	for _, tr := range server.Transports() {
		if _, ok := fams["comet_connections"]; !ok || value(fams, "comet_connections", "transport", tr) != 0 {
			t.Fatalf("transport %s: want a zero series before any client", tr)
		}
	}
	if value(fams, "comet_ready") != 1 || value(fams, "comet_draining") != 0 {
		t.Fatal("a started node is not ready")
	}

	ws1, _, err := dialWS(t, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws2, _, err := dialWS(t, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, ws1, "room:a")
	subscribe(t, ws2, "room:a")
	subscribe(t, ws2, "room:b")
	stream(t, addr, "/sse?ch=room:a")
	stream(t, addr, "/stream?ch=room:b")
	stream(t, addr, "/iframe?cb=__comet1&ch=room:b")
	poll, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer poll.Close()
	fmt.Fprintf(poll, "GET /poll?ch=room:c HTTP/1.1\r\nHost: x\r\n\r\n")

	fams = n.waitFor(t, "every transport open", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections", "transport", "ws") == 2 && value(f, "comet_connections", "transport", "sse") == 1 &&
			value(f, "comet_connections", "transport", "stream") == 1 && value(f, "comet_connections", "transport", "iframe") == 1 &&
			value(f, "comet_connections", "transport", "poll") == 1 && value(f, "comet_polls_parked_total") == 1
	})
	for name, want := range map[string]float64{
		"comet_subscriptions":              7, // ws1 1, ws2 2, sse 1, stream 1, iframe 1, poll 1
		"comet_channels":                   3,
		"comet_websocket_upgrades_total":   2,
		"comet_streams_opened_total":       3,
		"comet_connections_accepted_total": 6,
	} {
		if got := value(fams, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if value(fams, "comet_http_requests_total") < 6 || value(fams, "comet_engine_call_duration_seconds", "op", "join") < 7 {
		t.Errorf("requests %v, joins timed %v", value(fams, "comet_http_requests_total"),
			value(fams, "comet_engine_call_duration_seconds", "op", "join"))
	}

	before := value(fams, "comet_sent_bytes_total")
	for i := 0; i < 3; i++ {
		publish(t, addr, "room:a", `{"text":"hello"}`)
	}
	// room:a has ws1, ws2 and the SSE stream: 9 deliveries.
	fams = n.waitFor(t, "9 deliveries", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_messages_delivered_total") == 9
	})
	if got := value(fams, "comet_messages_published_total"); got != 3 {
		t.Errorf("published %v, want 3", got)
	}
	if got := value(fams, "comet_publish_duration_seconds"); got != 3 {
		t.Errorf("publish latency count %v, want 3", got)
	}
	if after := value(fams, "comet_sent_bytes_total"); after <= before {
		t.Errorf("bytes sent %v, then %v: deliveries not counted", before, after)
	}
	if value(fams, "comet_received_bytes_total") == 0 {
		t.Error("no bytes received counted")
	}

	// Cuts: a message over the cap (1009), a client that does not read
	// (4001), a client that goes silent (4002, on a node with short pings).
	big, _, err := dialWS(t, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = big.WriteMessage(websocket.TextMessage, []byte(`{"op":"pub","ch":"room:a","data":"`+strings.Repeat("x", 2000)+`"}`))
	if code := closeCode(t, big); code != 1009 {
		t.Fatalf("an oversized message closed with %d, want 1009", code)
	}
	slowCut(t, n)
	fams = n.waitFor(t, "the cuts counted", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections_closed_total", "transport", "ws", "reason", "message_too_big") == 1 &&
			value(f, "comet_connections_closed_total", "transport", "ws", "reason", "slow_consumer") == 1
	})
	if value(fams, "comet_websocket_close_codes_total", "code", "1009") != 1 || value(fams, "comet_websocket_close_codes_total", "code", "4001") != 1 {
		t.Errorf("close codes: 1009 %v, 4001 %v", value(fams, "comet_websocket_close_codes_total", "code", "1009"),
			value(fams, "comet_websocket_close_codes_total", "code", "4001"))
	}

	// Draining shows before the node stops.
	go func() { _ = n.srv.Shutdown(context.Background()) }()
	n.waitFor(t, "draining", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_draining") == 1 && value(f, "comet_ready") == 0
	})
}

// slowCut subscribes a client that never reads and publishes until the
// node cuts it off.
func slowCut(t *testing.T, n *node) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: timeout, ReadBufferSize: 1024,
		NetDial: func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			if err == nil {
				_ = c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		}}
	slow, _, err := d.Dial("ws://"+n.srv.Addr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	subscribe(t, slow, "firehose")
	payload := []byte(`"` + strings.Repeat("x", 1000) + `"`)
	// MaxMessageBytes is 1 KiB on this node; 20,000 × 1 KB = 20 MB is far
	// past loopback's kernel buffers and the 256 KiB budget.
	for i := 0; i < 20000; i++ {
		if _, err := n.srv.Publish("firehose", payload); err != nil {
			t.Fatal(err)
		}
		if n.srv.Stats().Closed["slow consumer"] == 1 {
			return
		}
	}
	deadline := time.Now().Add(timeout)
	for n.srv.Stats().Closed["slow consumer"] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was never cut off")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A silent client is cut off as idle (4002).
func TestMetricsIdleCut(t *testing.T) {
	n := startNode(t, server.Config{PingInterval: 200 * time.Millisecond, PongTimeout: 200 * time.Millisecond, Tick: 20 * time.Millisecond})
	c, _, err := dialWS(t, n.srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not reading means not answering pings: gorilla answers them from
	// inside ReadMessage only.
	n.waitFor(t, "an idle cut", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections_closed_total", "transport", "ws", "reason", "idle_timeout") == 1 &&
			value(f, "comet_websocket_close_codes_total", "code", "4002") == 1
	})
	_ = c
}

// Refusals at admission and failed authentication, on a node with
// identity and a small connection cap.
func TestMetricsRefusalsAndAuth(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	policy, err := auth.NewPolicy(auth.PolicyConfig{Namespaces: []auth.Namespace{{Prefix: "room:", Subscribe: auth.RuleAuthenticated}}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: []auth.Key{{Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, server.Config{MaxConnections: 2, Auth: server.AuthConfig{Policy: policy, Verifier: v}})
	addr := n.srv.Addr()
	// No token, then a forged one: refused before the upgrade (401) or
	// right after it (4500, 4501), depending on the transport's rule;
	// either way the close is counted by its reason.
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer not-a-token"}}} {
		c, resp, err := dialWS(t, addr, h)
		switch {
		case err == nil:
			if code := closeCode(t, c); code != 4500 && code != 4501 {
				t.Fatalf("header %v: closed with %d", h, code)
			}
			c.Close()
		case resp == nil || resp.StatusCode != 401:
			t.Fatalf("header %v: err %v, resp %v", h, err, resp)
		}
	}
	n.waitFor(t, "two auth refusals", func(f map[string]*dto.MetricFamily) bool {
		var sum float64
		for _, tr := range []string{"http", "ws"} {
			sum += value(f, "comet_connections_closed_total", "transport", tr, "reason", "token_required") +
				value(f, "comet_connections_closed_total", "transport", tr, "reason", "unauthorized")
		}
		return sum == 2
	})
	n.waitFor(t, "both closed", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections", "transport", "ws")+value(f, "comet_connections", "transport", "http") == 0
	})
	// Hold the two connections the cap allows; the third is refused.
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	n.waitFor(t, "two open", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections", "transport", "http") == 2
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "503") {
		t.Fatalf("the connection over the cap got %q", line)
	}
	n.waitFor(t, "a refusal", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "comet_connections_refused_total", "reason", "max_connections") == 1
	})
}

// Label is the one place names become label values.
func TestLabel(t *testing.T) {
	for in, want := range map[string]string{"slow consumer": "slow_consumer", "invalid utf-8": "invalid_utf_8", "max per ip": "max_per_ip"} {
		if got := metrics.Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}
