//go:build unix

package ops

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/internal/testredis"
	"github.com/gorilla/websocket"
)

// checkConfig runs comet -check-config with env and returns its output.
func checkConfig(t *testing.T, file string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cometBin, "-check-config", file)
	cmd.Env = cleanEnv(env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The shipped configuration validates (with its secrets and key file
// supplied the way the unit does, through the environment), and the unit
// verifies, raises LimitNOFILE, reloads with SIGHUP, drains with SIGTERM
// and waits longer than the configured drain.
func TestDeployFiles(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(repoRoot, "deploy", "systemd", "comet.yaml")
	out, err := checkConfig(t, conf, "COMET_API_KEY=k", "COMET_ADMIN_TOKEN="+adminToken,
		"COMET_JWT_PUBLIC_KEY="+publicKeyPEM(t))
	if err != nil {
		t.Fatalf("deploy/systemd/comet.yaml does not validate: %v\n%s", err, out)
	}
	var drain time.Duration
	for _, key := range []string{"drain-delay", "drain-window", "drain-timeout"} {
		m := regexp.MustCompile(`(?m)^` + key + `: (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("-check-config does not print %s:\n%s", key, out)
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatal(err)
		}
		drain += d
	}

	unit, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "systemd", "comet.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LimitNOFILE=1048576", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
		"ExecStartPre=/usr/local/bin/comet -check-config /etc/comet/comet.yaml", "Restart=on-failure"} {
		if !strings.Contains(string(unit), "\n"+want+"\n") {
			t.Errorf("comet.service lacks %q", want)
		}
	}
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)$`).FindStringSubmatch(string(unit))
	if m == nil {
		t.Fatal("comet.service has no TimeoutStopSec")
	}
	if stop, _ := time.ParseDuration(m[1] + "s"); stop <= drain {
		t.Errorf("TimeoutStopSec %v does not cover the drain's %v", stop, drain)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing (Debian's systemd package)")
	}
	local := filepath.Join(t.TempDir(), "comet.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/comet", cometBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// -check-config exits 1 and names every problem of a bad file.
func TestCheckConfigCommand(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("auth: open\nmax-conections: 5\ndrain-window: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := checkConfig(t, bad)
	if err == nil || !strings.Contains(out, `did you mean "max-connections"`) || !strings.Contains(out, "drain-window") {
		t.Fatalf("a bad file: %v\n%s", err, out)
	}
}

// Every series the Grafana dashboard queries exists on a node (on Redis,
// for the cluster panels).
func TestGrafanaDashboardQueriesExist(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "comet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("comet.json: %v", err)
	}
	r := testredis.Start(t, testredis.Options{})
	n := startNode(t, "-engine", "redis", "-redis-addrs", r.Addr())
	// Closes are counted by reason and code once one happened.
	c := dialWS(t, n.URL(), nil)
	_ = c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if _, err := c.read(waitTimeout); err == nil {
		t.Fatal("the node did not answer the close")
	}
	have := n.waitMetrics(t, "", "a close", func(m metricsView) bool {
		return m.get("comet_websocket_close_codes_total", "code", "1000") == 1
	})
	name := regexp.MustCompile(`\b(comet|process|go)_[a-z0-9_]+`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if s, ok := strings.CutSuffix(m, suffix); ok && have[s] != nil {
						base = s
					}
				}
				if have[base] == nil {
					t.Errorf("panel %q queries %s, which the node does not export", p.Title, m)
				}
			}
		}
	}
	if queries < 20 {
		t.Fatalf("only %d queries in the dashboard", queries)
	}
}
