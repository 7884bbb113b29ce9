//go:build unix

package e2e

// Browser tests of the client library (web/client) itself, beyond the
// demo's: one connection shared by every tab, pages on another origin,
// the offline send queue across a server restart. The scripts are in
// test/browser; see browser_test.go for the harness.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestBrowserShared: eight tabs of one origin on forced long-poll receive
// every message through one connection (the server's presence counts one
// for their user), through a SharedWorker and through a leader tab, which
// then closes: another tab takes over with no loss.
func TestBrowserShared(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-auth", "demo", "-api-key", apiKey)
	runBrowser(t, dir, browserEnv(t, srv), "shared.mjs")
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
	runBrowser(t, dir, browserEnv(t, srv, fmt.Sprintf("COMET_PAGE_PORT=%d", port)), "crossorigin.mjs")
}

// TestBrowserOffline: a message typed in the demo while the server is
// down is shown as queued and delivered once when the server is back.
func TestBrowserOffline(t *testing.T) {
	t.Parallel()
	runRestarting(t, requireBrowser(t), []string{"-auth", "demo", "-api-key", apiKey}, "offline.mjs")
}

// TestBrowserReload: with persist, a page reload resumes from the saved
// positions: what was published during the reload arrives once.
func TestBrowserReload(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey)
	runBrowser(t, dir, browserEnv(t, srv), "reload.mjs")
}

// browserTimeout bounds a browser script: several chromium windows on a
// loaded 2-core machine take longer than the 45 s of other clients.
const browserTimeout = 120 * time.Second

// runBrowser is runClient (e2e_test.go) with browserTimeout.
func runBrowser(t *testing.T, dir string, env []string, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s: timed out after %s\n%s", script, browserTimeout, &out)
	}
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, &out)
	}
	t.Logf("node %s passed in %s", script, time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("output:\n%s", &out)
	}
}
