//go:build unix

package e2e

// Browser tests: comet.js and the web IM demo (web/static) in headless
// Debian chromium, driven by playwright-core scripts in test/browser. The
// server under test serves the demo itself, from the assets embedded in the
// binary.

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// playwrightVersion is the playwright-core release pinned in
	// test/browser/package.json.
	playwrightVersion = "1.65.1"
	chromiumPath      = "/usr/bin/chromium"
)

// requireBrowser fails the test, never skips it, when chromium or
// playwright-core is missing.
func requireBrowser(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "test", "browser")
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run make test-deps", chromiumPath, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run make test-deps")
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil {
		t.Fatalf("node module playwright-core is missing (%v): run make test-deps", err)
	}
	if !bytes.Contains(pkg, []byte(`"version": "`+playwrightVersion+`"`)) {
		t.Fatalf("test/browser/node_modules/playwright-core is not version %s: run make test-deps", playwrightVersion)
	}
	return dir
}

// artifactDir is where screenshots go: $COMET_ARTIFACTS, else
// results/screenshots in the repository.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COMET_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repoRoot, "results", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func browserEnv(t *testing.T, srv *server, extra ...string) []string {
	return append([]string{
		"COMET_URL=" + srv.URL,
		"COMET_TEST_API_KEY=" + apiKey,
		"COMET_ARTIFACTS=" + artifactDir(t),
	}, extra...)
}

// TestBrowserChat: two browser contexts chat through the demo over each
// forced transport (websocket, sse, poll, iframe) and see each other's
// messages once, in the same order; then a screenshot of the demo is
// written and checked to be a real PNG.
func TestBrowserChat(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey)
	shot := filepath.Join(artifactDir(t), "demo.png")
	_ = os.Remove(shot)
	runBrowser(t, dir, browserEnv(t, srv, "COMET_SCREENSHOT="+shot), "chat.mjs")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	if cfg.Width < 800 || cfg.Height < 600 {
		t.Fatalf("screenshot %s is %dx%d", shot, cfg.Width, cfg.Height)
	}
	t.Logf("screenshot of the demo: %s (%dx%d)", shot, cfg.Width, cfg.Height)
}

// TestBrowserFallback: with WebSocket upgrades refused (-no-websocket), the
// client falls back (to SSE, or to poll or iframe when SSE is not in its
// list) and still delivers.
func TestBrowserFallback(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey, "-no-websocket")
	runBrowser(t, dir, browserEnv(t, srv), "fallback.mjs")
}

// TestBrowserClient: comet.js on its own: the heartbeat watchdog replaces
// a silent WebSocket and recovers what was published meanwhile (no gap);
// long-poll recovers from its cursor; a since older than history reports a
// gap on every transport; a saved position resumes on every transport; SSE
// in EventSource mode; bad server input (a scripted WebSocket) is reported
// as error events, never thrown.
func TestBrowserClient(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey, "-history-size", "100")
	runBrowser(t, dir, browserEnv(t, srv), "client.mjs")
}

// TestBrowserRestart: a server restart in the middle of a conversation,
// for a window on each transport. The script asks for the stop and the
// start through files; in between it keeps the windows offline and
// publishes through the API, so the messages can only arrive through the
// client's recovery. They must arrive once each.
func TestBrowserRestart(t *testing.T) {
	t.Parallel()
	runRestarting(t, requireBrowser(t), []string{"-api-key", apiKey}, "restart.mjs")
}

// waitForFile polls for path until done is closed.
func waitForFile(done <-chan struct{}, path string) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		select {
		case <-done:
			return false
		case <-tick.C:
		}
	}
}

// writeControl answers the script: "ok", or "error: ..." (atomically).
func writeControl(dir, name string, err error) {
	body := "ok"
	if err != nil {
		body = "error: " + err.Error()
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if os.WriteFile(tmp, []byte(body), 0o644) == nil {
		_ = os.Rename(tmp, filepath.Join(dir, name))
	}
}

// TestBrowserInboxAck: comet.js acknowledges a personal channel's
// delivery only after the application's handler finished with it, on
// every transport: what was handled while the page was open, or came
// while it was closed, is delivered once; a handler that throws, or whose
// promise never settles, does not acknowledge, and the message comes
// again with the next connection.
func TestBrowserInboxAck(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-auth", "demo", "-api-key", apiKey, "-data-dir", t.TempDir())
	runBrowser(t, dir, browserEnv(t, srv), "ack.mjs")
}

// TestBrowserInbox: direct messages in the demo between two users in two
// browser contexts, for two pairs of transports: the unread badge on the
// recipient's side, "seen" on the sender's once the recipient opens the
// conversation, and the conversation once after a reload.
func TestBrowserInbox(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-auth", "demo", "-api-key", apiKey, "-data-dir", t.TempDir())
	runBrowser(t, dir, browserEnv(t, srv), "inbox.mjs")
}

// TestBrowserInboxOffline: a DM typed in the demo while the server is
// down is shown as queued and delivered once when the server is back on
// the same data directory.
func TestBrowserInboxOffline(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	runRestarting(t, dir, []string{"-auth", "demo", "-api-key", apiKey, "-data-dir", t.TempDir()}, "inbox-offline.mjs")
}

// runRestarting runs script against a node started with args, which the
// script stops and starts again (same address, same arguments) through
// files in COMET_CONTROL_DIR: it writes "stop" and waits for "stopped",
// then "start" and waits for "started".
func runRestarting(t *testing.T, dir string, args []string, script string) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	first, err := tryStartAt(addr, args)
	if err != nil {
		t.Fatalf("starting comet: %v\n%s", err, first.log)
	}
	ctl := t.TempDir()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		second *server
	)
	done := make(chan struct{})
	// Each server must exit cleanly and log no panic or data race.
	checkExit := func(name string, s *server, err error) {
		if err != nil {
			t.Errorf("%s server: %v\n--- log ---\n%s", name, err, s.log)
		}
		if log := s.log.String(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic") {
			t.Errorf("%s server logged a panic or a data race:\n%s", name, log)
		}
	}
	defer func() {
		close(done)
		wg.Wait()
		checkExit("first", first, first.stop())
		mu.Lock()
		defer mu.Unlock()
		if second != nil {
			checkExit("second", second, second.stop())
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !waitForFile(done, filepath.Join(ctl, "stop")) {
			return
		}
		writeControl(ctl, "stopped", first.stop())
		if !waitForFile(done, filepath.Join(ctl, "start")) {
			return
		}
		s, err := tryStartAt(addr, args)
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, s.log)
		} else {
			mu.Lock()
			second = s
			mu.Unlock()
		}
		writeControl(ctl, "started", err)
	}()
	runBrowser(t, dir, browserEnv(t, first, "COMET_CONTROL_DIR="+ctl), script)
	mu.Lock()
	defer mu.Unlock()
	if second == nil {
		t.Fatal("the script finished without the server being restarted")
	}
}
