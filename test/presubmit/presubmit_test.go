// Package presubmit holds the project's conventions as tests (the CoreDNS
// idea): the import arrows of docs/ARCHITECTURE.md, and printing only from
// commands. A convention that is not tested drifts.
package presubmit

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/comet-im/comet"

// forbidden lists, per package, import path prefixes its non-test code
// must not reach, directly or through its dependencies.
var forbidden = map[string][]string{
	"codec":        {module + "/", "github.com/panjf2000/gnet", "github.com/valyala/bytebufferpool"},
	"conn":         {module + "/server", module + "/bench", module + "/web", "github.com/panjf2000/gnet"},
	"server/wheel": {module + "/", "github.com/"},
	// The reactor sees the engine seam, never an implementation: only cmd/
	// wires one.
	"server":   {module + "/bench", module + "/cmd", module + "/broker/", module + "/inbox/", module + "/internal/"},
	"bench":    {module + "/server", module + "/conn", "github.com/panjf2000/gnet"},
	"web":      {module + "/", "github.com/"},
	"protocol": {module + "/", "github.com/"},
	"broker":   {module + "/", "github.com/"},
	// Engine implementations see the seam, never the reactor.
	"broker/memory": {module + "/server", module + "/conn", module + "/codec", module + "/protocol", module + "/bench", module + "/cmd", "github.com/panjf2000/gnet"},
	"broker/redis":  {module + "/server", module + "/conn", module + "/codec", module + "/protocol", module + "/bench", module + "/cmd", "github.com/panjf2000/gnet"},
	// Identity, webhooks and the inbox stand alone.
	"auth":               {module + "/", "github.com/panjf2000", "github.com/gobwas", "github.com/valyala"},
	"notify":             {module + "/", "github.com/"},
	"inbox":              {module + "/", "github.com/"},
	"internal/testredis": {module + "/"},
	// The inbox's implementations see the store's contract and the seam.
	"inbox/personal":  {module + "/server", module + "/conn", module + "/codec", module + "/protocol", module + "/bench", module + "/cmd", module + "/broker/", module + "/inbox/", "github.com/panjf2000/gnet"},
	"inbox/redis":     {module + "/server", module + "/conn", module + "/codec", module + "/protocol", module + "/bench", module + "/cmd", module + "/broker/", module + "/inbox/", "github.com/panjf2000/gnet"},
	"inbox/inboxtest": {module + "/"},
	// Operations read the node from outside, through server's Stats and
	// readiness (server's own dependencies come with it): no engine, no
	// store, no commands.
	"admin":   {module + "/broker/", module + "/inbox/", module + "/bench", module + "/cmd"},
	"metrics": {module + "/broker/", module + "/inbox/", module + "/bench", module + "/cmd", module + "/admin"},
}

// allowed lists, per package, exact dependencies its bans would catch
// but that it may use.
var allowed = map[string][]string{
	"protocol":        {module + "/broker"}, // the seam's types: positions, stream state
	"inbox/inboxtest": {module + "/inbox"},
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestImportArrows(t *testing.T) {
	root := repoRoot(t)
	for pkg, bans := range forbidden {
		cmd := exec.Command("go", "list", "-deps", "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		self := module + "/" + pkg
	deps:
		for _, dep := range strings.Fields(string(out)) {
			if dep == self {
				continue
			}
			for _, ok := range allowed[pkg] {
				if dep == ok {
					continue deps
				}
			}
			for _, ban := range bans {
				if strings.HasPrefix(dep, ban) {
					t.Errorf("%s depends on %s (banned: %s*)", pkg, dep, ban)
				}
			}
		}
	}
	// gnet stays behind package server: no other package reaches it.
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "github.com/panjf2000/gnet") && fields[0] != module+"/server" {
				t.Errorf("%s imports %s: only package server may", fields[0], imp)
			}
		}
	}
}

// Only commands print; libraries log through slog or return errors.
func TestNoPrintOutsideCommands(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (strings.HasPrefix(rel, "cmd") || strings.Contains(rel, "node_modules") || strings.HasPrefix(rel, ".")) && rel != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if line := sc.Text(); strings.Contains(line, "fmt.Print") && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d prints outside cmd/: %s", rel, n, strings.TrimSpace(line))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
