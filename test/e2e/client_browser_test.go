//go:build unix

package e2e

// Browser tests of the client library (web/client) itself, beyond the
// demo's: one connection shared by every tab, pages on another origin,
// the offline send queue across a server restart. The scripts are in
// test/browser; see browser_test.go for the harness.

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestBrowserShared: eight tabs of one origin on forced long-poll receive
// every message through one connection (the server's presence counts one
// for their user), through a SharedWorker and through a leader tab, which
// then closes: another tab takes over with no loss.
func TestBrowserShared(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-auth", "demo", "-api-key", apiKey)
	runClient(t, dir, browserEnv(t, srv), nil, "node", "shared.mjs")
}

// TestBrowserCrossOrigin: a page served from another loopback origin
// imports /comet.js from Comet's (CORS) and chats over every transport;
// the iframe transport works by postMessage and the page's load event
// fires.
func TestBrowserCrossOrigin(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "-auth", "demo", "-api-key", apiKey, "-allowed-origins", fmt.Sprintf("http://127.0.0.1:%d", port))
	runClient(t, dir, browserEnv(t, srv, fmt.Sprintf("COMET_PAGE_PORT=%d", port)), nil, "node", "crossorigin.mjs")
}

// TestBrowserOffline: a message typed in the demo while the server is
// down is shown as queued and delivered once when the server is back.
func TestBrowserOffline(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"-auth", "demo", "-api-key", apiKey}
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
	defer func() {
		close(done)
		wg.Wait()
		if err := first.stop(); err != nil {
			t.Errorf("first server: %v\n%s", err, first.log)
		}
		mu.Lock()
		defer mu.Unlock()
		if second != nil {
			if err := second.stop(); err != nil {
				t.Errorf("second server: %v\n%s", err, second.log)
			}
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
	runClient(t, dir, browserEnv(t, first, "COMET_CONTROL_DIR="+ctl), nil, "node", "offline.mjs")
}

// TestBrowserReload: with persist, a page reload resumes from the saved
// positions: what was published during the reload arrives once.
func TestBrowserReload(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey)
	runClient(t, dir, browserEnv(t, srv), nil, "node", "reload.mjs")
}
