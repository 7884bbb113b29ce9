package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildComet builds cmd/comet into a temporary directory.
func buildComet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "comet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/comet")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/comet: %v\n%s", err, out)
	}
	return bin
}

func clusterOptions(t *testing.T) TargetOptions {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatal("nginx not found (scripts/test-deps.sh installs it)")
	}
	return TargetOptions{CometBin: buildComet(t), NginxBin: "nginx", APIKey: "k", Workers: 1, HistorySize: 10,
		Cluster: ClusterOptions{Nodes: 2, RedisFsync: "everysec", CometNginxConf: "../deploy/nginx/comet.conf"}}
}

// TestCometClusterBroadcastLosesNothing runs the comet-cluster target (two
// real nodes on a redis-server, behind nginx with the shipped config) on
// the broadcast scenario: every delivery arrives, and the CPU is counted
// per group (nodes, proxy, redis) as well as in all.
func TestCometClusterBroadcastLosesNothing(t *testing.T) {
	r := runScenario(t, smallConfig(CometClusterTarget(clusterOptions(t))), "broadcast")
	m := r.Metrics
	if m["subs"] != 10 || m["msgs"] != 20 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 || m["failed"] != 0 {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
	for _, k := range []string{"cpu_s", "cpu_s_nodes", "cpu_s_proxy", "cpu_s_redis"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in %v", k, m)
		}
	}
	if m["cpu_s"] < m["cpu_s_nodes"] || m["cpu_s"] < m["cpu_s_redis"] {
		t.Errorf("the cluster's CPU %v is below a group's: %v", m["cpu_s"], m)
	}
}

// TestRenderCometConf renders the shipped nginx config for two nodes and
// checks it with nginx -t: what comet-cluster measures is what ships.
func TestRenderCometConf(t *testing.T) {
	shipped, err := os.ReadFile("../deploy/nginx/comet.conf")
	if err != nil {
		t.Fatal(err)
	}
	http, err := RenderCometConf(string(shipped), []string{"127.0.0.1:1", "127.0.0.1:2"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(http, "server 127.0.0.1:"); n != 2 {
		t.Errorf("%d upstream servers, want 2", n)
	}
	if _, err := RenderCometConf("upstream x { }", nil, 1); err == nil {
		t.Error("a config without upstream servers rendered")
	}
	dir := t.TempDir()
	cert, key, err := selfSignedPEM()
	if err != nil {
		t.Fatal(err)
	}
	p := proxyProcess("comet-proxy", ProtoComet, "k", TargetOptions{NginxBin: "nginx", Workers: 1}, http, nil)
	repl := strings.NewReplacer("{{port}}", "3", "{{dir}}", dir)
	files := map[string]string{"nginx.conf": p.Files["nginx.conf"], "tls.crt": string(cert), "tls.key": string(key)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(repl.Replace(body)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("nginx", "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}
