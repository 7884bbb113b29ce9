//go:build unix

// Package cluster tests Comet as a cluster: several real cmd/comet nodes on
// one Redis (or a three-master Redis Cluster), behind nginx running the
// shipped deploy/nginx/comet.conf, driven by independent Go clients on every
// transport (gorilla/websocket, and net/http for SSE, long-poll, chunked
// streams and iframes). Each test starts its own redis-server, nodes and
// nginx on free loopback ports with their files in t.TempDir(), and stops
// them in t.Cleanup.
//
// The guarantee under test is docs/CLUSTER.md's: any node serves any
// request, and nothing a publisher was told is stored (a 200 with a seq, an
// "ok" with a seq) is ever lost, duplicated or reordered for any subscriber,
// across node deaths, Redis restarts and pub/sub link cuts.
//
// CLUSTER_COMET_BIN, when set, names the comet binary to test instead of
// building this tree's.
//
// Must not import: any package of this module except internal/testredis; it
// talks to the nodes only over the network, as clients do.
//
// Concurrency: every client runs its own goroutines and records what it
// received under its own lock; tests wait on those records with deadlines,
// never on sleeps.
package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	cometBin string // built by TestMain
	repoRoot string
	nginxBin string // found by TestMain; empty fails every test that needs it
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	repoRoot = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "comet-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	nginxBin = findNginx()
	if bin := os.Getenv("CLUSTER_COMET_BIN"); bin != "" {
		// A binary built elsewhere (another checkout, a release), instead
		// of this tree's.
		cometBin = bin
		return m.Run()
	}
	cometBin = filepath.Join(dir, "comet")
	args := []string{"build", "-o", cometBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/comet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// findNginx returns Debian's nginx, or the one on PATH, or "".
func findNginx() string {
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	p, _ := exec.LookPath("nginx")
	return p
}

// requireNginx fails the test loudly when nginx is missing: a cluster suite
// that skipped its proxy would pass without testing what ships.
func requireNginx(t *testing.T) {
	t.Helper()
	if nginxBin == "" {
		t.Fatal("nginx not found (install it: scripts/test-deps.sh, or apt-get install nginx)")
	}
}
