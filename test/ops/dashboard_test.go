//go:build unix

package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const jwtSecret = "ops-jwt-secret-0123456789abcdefghij"

// userToken mints a connection token for user, as a backend would.
func userToken(t *testing.T, user string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// feedInfo is /dashboard/feed's answer.
type feedInfo struct {
	URL, Channel, Token, Off string
	Expires                  int64
}

func (n *node) feed(t *testing.T) feedInfo {
	t.Helper()
	code, _, body := get(t, n.AdminURL()+"/dashboard/feed", adminToken)
	if code != 200 {
		t.Fatalf("GET /dashboard/feed: %d %s", code, body)
	}
	var f feedInfo
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// The stats feed is a channel of the public port that only the admin
// listener's token opens: a signed-in user gets 403, a client without a
// token 401, the dashboard's token the node's stats.
func TestDashboardFeedIsPrivate(t *testing.T) {
	t.Parallel()
	n := startNode(t, "-auth", "jwt", "-jwt-secret", jwtSecret, "-admin-token", adminToken, "-admin-feed-interval", "200ms")
	f := n.feed(t)
	if f.Off != "" || f.Token == "" || !strings.HasPrefix(f.Channel, "_comet:stats:") || f.URL != n.URL() {
		t.Fatalf("feed %+v", f)
	}
	user := dialWS(t, n.URL(), bearer(userToken(t, "mallory")))
	user.send(t, fmt.Sprintf(`{"op":"sub","ch":%q,"id":"x"}`, f.Channel))
	if e := user.expect(t, "err", "x"); e.Code != 403 {
		t.Fatalf("a user subscribing to the feed: %+v", e)
	}
	// Over SSE as the page does, without a token: refused with 401, or
	// (for EventSource, which cannot read a status) a close event 4500.
	resp, err := client.Get(n.URL() + "/sse?ch=" + f.Channel)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 && !strings.Contains(string(body), `"code":4500`) || strings.Contains(string(body), `"op":"msg"`) {
		t.Fatalf("SSE without a token: %d %s", resp.StatusCode, body)
	}
	dash := dialWS(t, n.URL(), bearer(f.Token))
	dash.subscribe(t, f.Channel)
	m := dash.expect(t, "msg", "")
	var stats struct {
		Conns map[string]int64 `json:"conns"`
		Top   []struct {
			Ch   string `json:"ch"`
			Subs int    `json:"subs"`
		} `json:"top"`
	}
	if err := json.Unmarshal(m.Data, &stats); err != nil || stats.Conns["ws"] != 2 {
		t.Fatalf("the feed's message %s: %v", m.Data, err)
	}
	// The dashboard's token grants the feed and nothing else: another
	// user's channel is refused (like any signed-in user, it may still
	// read namespaces open to every signed-in user, docs/OPERATIONS.md).
	dash.send(t, `{"op":"sub","ch":"user:alice","id":"r"}`)
	if e := dash.expect(t, "err", "r"); e.Code != 403 {
		t.Fatalf("the dashboard's token on another channel: %+v", e)
	}
}

// With -auth open nobody could be kept from the feed: it stays off unless
// asked for, and the page says why.
func TestDashboardFeedOffWhenOpen(t *testing.T) {
	t.Parallel()
	n := startNode(t, "-admin-token", adminToken)
	if f := n.feed(t); !strings.Contains(f.Off, "-auth open") || f.Token != "" {
		t.Fatalf("feed on an open node: %+v", f)
	}
	n.log.waitFor(t, `"dashboard feed"=false`)
	on := startNode(t, "-admin-token", adminToken, "-admin-dashboard", "on")
	if f := on.feed(t); f.Off != "" {
		t.Fatalf("admin-dashboard on: %+v", f)
	}
	on.log.waitFor(t, "any client of the public port can read")
}

// The dashboard in Chromium, live over the node's SSE; a screenshot.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	requireBrowser(t)
	n := startNode(t, "-auth", "jwt", "-jwt-secret", jwtSecret, "-admin-token", adminToken,
		"-api-key", apiKey, "-admin-feed-interval", "500ms")
	for i, ch := range []string{"room:lobby", "room:lobby", "room:lobby", "room:lobby", "room:ops", "room:ops", "room:support"} {
		c := dialWS(t, n.URL(), bearer(userToken(t, fmt.Sprintf("user%d", i))))
		c.subscribe(t, ch)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = n.publish(t, "room:lobby", fmt.Sprintf(`{"text":"message %d"}`, i))
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	shot := filepath.Join(artifactDir(t), "ops-dashboard.png")
	_ = os.Remove(shot)
	runScript(t, []string{
		"COMET_ADMIN_URL=" + n.AdminURL(), "COMET_ADMIN_TOKEN=" + adminToken,
		"COMET_EXPECT_WS=7", // the page itself is on SSE
		"COMET_EXPECT_TOP=room:lobby", "COMET_SCREENSHOT=" + shot,
	})
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 1000 || cfg.Height < 600 {
		t.Fatalf("screenshot %s: %v %dx%d", shot, err, cfg.Width, cfg.Height)
	}
	t.Logf("dashboard screenshot: %s (%dx%d)", shot, cfg.Width, cfg.Height)
}

// requireBrowser fails, never skips, when chromium, node or the pinned
// playwright-core is missing.
func requireBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("/usr/bin/chromium is missing (%v): run make test-deps", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run make test-deps")
	}
	dir := filepath.Join(repoRoot, "test", "browser")
	var pinned struct{ Dependencies map[string]string }
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &pinned)
	}
	if err != nil {
		t.Fatalf("test/browser/package.json: %v", err)
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil {
		t.Fatalf("playwright-core is missing from test/browser/node_modules (%v): run make test-deps", err)
	}
	if v := pinned.Dependencies["playwright-core"]; !bytes.Contains(pkg, []byte(`"version": "`+v+`"`)) {
		t.Fatalf("test/browser/node_modules/playwright-core is not the pinned %s: run make test-deps", v)
	}
}

// artifactDir is $COMET_ARTIFACTS, else results/screenshots.
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

// runScript runs dashboard.mjs with env and a deadline, its process group
// killed at the deadline.
func runScript(t *testing.T, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "dashboard.mjs")
	cmd.Dir = filepath.Join(repoRoot, "test", "ops")
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node dashboard.mjs: %v\n%s", err, &out)
	}
	t.Logf("node dashboard.mjs:\n%s", &out)
}
