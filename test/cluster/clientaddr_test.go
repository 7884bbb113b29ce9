//go:build unix

package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hookServer is a connect hook (docs/AUTH.md) that admits everybody and
// remembers the client address each node told it, by transport.
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	addrs   []string      // "transport remote_addr"
	changed chan struct{} // signalled on every call
}

func startHook(t *testing.T) *hookServer {
	h := &hookServer{changed: make(chan struct{}, 1)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Transport  string `json:"transport"`
			RemoteAddr string `json:"remote_addr"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		h.addrs = append(h.addrs, body.Transport+" "+body.RemoteAddr)
		h.mu.Unlock()
		select {
		case h.changed <- struct{}{}:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":"visitor"}`))
	}))
	t.Cleanup(h.Close)
	return h
}

// take waits until the hook was called n times (or 10 s passed), and
// returns and forgets what it was told.
func (h *hookServer) take(n int) []string {
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		if len(h.addrs) >= n {
			out := h.addrs
			h.addrs = nil
			h.mu.Unlock()
			return out
		}
		h.mu.Unlock()
		select {
		case <-h.changed:
		case <-deadline:
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.addrs
		}
	}
}

// fromAddr is a dialer whose connections come from the loopback address
// ip (127.0.0.0/8 is all the machine's own), so the node can tell clients
// apart.
func fromAddr(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return d.DialContext
}

// TestClientAddressThroughNginx: the address a node believes is the
// client's (here: what it tells the connect hook) is the real one. Through
// nginx, which replaces any X-Forwarded-For a client sends with the
// address it sees, a client at 127.0.0.7 pretending to be 6.6.6.6 is
// 127.0.0.7 on every transport. Straight to a node, from an address that
// is not in -trusted-proxies, the header is ignored.
func TestClientAddressThroughNginx(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	hook := startHook(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}, nodes: 2,
		args: []string{"-auth", "hook", "-auth-hook-url", hook.URL}})
	spoof := http.Header{"X-Forwarded-For": {"6.6.6.6"}}

	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: fromAddr("127.0.0.7")}
	ws, _, err := d.Dial(c.proxy.WS()+"/ws", spoof)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: fromAddr("127.0.0.7")}}
	for _, path := range []string{"/poll?ch=room:a&wait=0", "/poll?ch=room:a&wait=0"} {
		req, _ := http.NewRequest("GET", c.proxy.URL()+path, nil)
		req.Header = spoof.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s through nginx: %s", path, resp.Status)
		}
	}
	got := hook.take(3)
	if len(got) != 3 {
		t.Fatalf("the hook was asked %d times (%v), want 3", len(got), got)
	}
	for _, a := range got {
		if _, addr, _ := strings.Cut(a, " "); !strings.HasPrefix(addr, "127.0.0.7") {
			t.Errorf("through nginx, a client at 127.0.0.7 sending X-Forwarded-For: 6.6.6.6 was told to the hook as %q", a)
		}
	}

	// Straight to a node from 127.0.0.8, not a trusted proxy: the header
	// counts for nothing.
	d.NetDialContext = fromAddr("127.0.0.8")
	ws, _, err = d.Dial(c.nodes[0].WS()+"/ws", spoof)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	got = hook.take(1)
	if len(got) != 1 || !strings.HasPrefix(strings.TrimPrefix(got[0], "ws "), "127.0.0.8") {
		t.Errorf("a client at 127.0.0.8 (untrusted) sending X-Forwarded-For was told to the hook as %v", got)
	}
}
