//go:build unix

package e2e

// The client library's own checks, so that make test (go test ./...)
// covers them: the committed build (web/client/dist, embedded and served
// at /comet.js) is what its sources build to, the sources type-check, and
// each module's unit tests pass.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// typescriptVersion is the typescript release pinned in
// web/client/package.json.
const typescriptVersion = "5.9.3"

// requireClientTools fails the test, never skips it, when node or the
// pinned typescript is missing.
func requireClientTools(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "web", "client")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run make test-deps")
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "typescript", "package.json"))
	if err != nil {
		t.Fatalf("typescript is missing in web/client (%v): run make test-deps", err)
	}
	if !bytes.Contains(pkg, []byte(`"version": "`+typescriptVersion+`"`)) {
		t.Fatalf("web/client/node_modules/typescript is not version %s: run make test-deps", typescriptVersion)
	}
	return dir
}

// runNode runs node with args in dir and returns its output, failing the
// test when it fails.
func runNode(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestClientBuildUpToDate: building web/client/src gives exactly the
// committed dist/comet.js and dist/comet.d.ts (the build is deterministic,
// so a source changed without a rebuild fails here).
func TestClientBuildUpToDate(t *testing.T) {
	t.Parallel()
	dir := requireClientTools(t)
	t.Log(runNode(t, dir, "build.mjs", "--check"))
}

// TestClientTypeCheck: the sources type-check (// @ts-check and JSDoc,
// strict null checks) with the pinned TypeScript compiler.
func TestClientTypeCheck(t *testing.T) {
	t.Parallel()
	dir := requireClientTools(t)
	runNode(t, dir, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json")
}

// TestClientUnitTests: the unit tests of each module (web/client/test).
func TestClientUnitTests(t *testing.T) {
	t.Parallel()
	dir := requireClientTools(t)
	out := runNode(t, dir, "--test", "test/")
	if !bytes.Contains([]byte(out), []byte("# fail 0")) {
		t.Fatalf("node --test did not report 0 failures:\n%s", out)
	}
	t.Log(out[bytes.LastIndex([]byte(out), []byte("# tests")):])
}
