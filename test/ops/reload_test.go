//go:build unix

package ops

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SIGHUP applies a new file while clients stay connected: a lower
// connection cap refuses the next connection, a lower subscription cap
// the next subscribe, and the connected clients go on receiving. A file
// that does not validate changes nothing; both outcomes are logged and
// counted.
func TestReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "comet.yaml")
	write := func(body string) {
		if err := os.WriteFile(path, []byte("auth: open\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("max-connections: 50\nmax-subscriptions: 10\n")
	n := startNode(t, "-config", path)
	var clients []*wsClient
	for i := 0; i < 3; i++ {
		c := dialWS(t, n.URL(), nil)
		c.subscribe(t, "room:hup")
		clients = append(clients, c)
	}
	clients[0].subscribe(t, "room:hup2")

	write("max-connections: 3\nmax-subscriptions: 2\nloops: 1\n")
	n.signal(t, syscall.SIGHUP)
	n.waitMetrics(t, "", "the reload applied", func(m metricsView) bool {
		return m.get("comet_config_reloads_total", "result", "applied") == 1
	})
	line := n.log.waitFor(t, "configuration reloaded")
	if !strings.Contains(line, "max-connections") || !strings.Contains(line, "max-subscriptions") {
		t.Errorf("the reload line does not name what changed: %s", line)
	}
	if l := n.log.waitFor(t, "only change at a restart"); !strings.Contains(l, "loops") {
		t.Errorf("the restart line does not name loops: %s", l)
	}
	refused := func(what string) {
		t.Helper()
		if _, err := tryDialWS(n.URL(), nil); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("%s: a connection over the cap: %v", what, err)
		}
	}
	refused("after the reload")
	clients[0].send(t, `{"op":"sub","ch":"room:third","id":"third"}`)
	if f := clients[0].expect(t, "err", "third"); f.Code != 429 {
		t.Fatalf("a subscribe over the new cap: %+v", f)
	}
	deliverAll := func() {
		t.Helper()
		clients[1].send(t, `{"op":"pub","ch":"room:hup","data":{"still":"here"},"id":"p"}`)
		clients[1].expect(t, "ok", "p")
		for _, c := range []*wsClient{clients[0], clients[2]} {
			if f := c.expect(t, "msg", ""); f.Ch != "room:hup" {
				t.Fatalf("got %+v", f)
			}
		}
	}
	deliverAll()

	write("max-connections: lots\n")
	n.signal(t, syscall.SIGHUP)
	// Both metrics, in one scrape: they are two updates, and a scrape
	// between them (seen under load) reads the counter already moved and
	// the gauge not yet.
	n.waitMetrics(t, "", "the reload failed, and the last reload marked unsuccessful", func(m metricsView) bool {
		return m.get("comet_config_reloads_total", "result", "failed") == 1 &&
			m.get("comet_config_last_reload_successful") == 0
	})
	n.log.waitFor(t, "configuration reload failed; nothing changed")
	refused("after a failed reload")
	deliverAll()

	write("max-connections: 10\n")
	n.signal(t, syscall.SIGHUP)
	n.waitMetrics(t, "", "the second reload applied", func(m metricsView) bool {
		return m.get("comet_config_reloads_total", "result", "applied") == 2 && m.get("comet_config_last_reload_successful") == 1
	})
	dialWS(t, n.URL(), nil).subscribe(t, "room:hup")
	deliverAll()
}
