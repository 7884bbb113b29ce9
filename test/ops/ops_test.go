//go:build unix

package ops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	startTimeout = 20 * time.Second // a race-instrumented binary starts slowly
	waitTimeout  = 15 * time.Second
	apiKey       = "ops-api-key"
	adminToken   = "ops-admin-token-0123456789"
)

var (
	cometBin string // built by TestMain
	repoRoot string
)

func TestMain(m *testing.M) { os.Exit(mainRun(m)) }

func mainRun(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ops:", err)
		return 1
	}
	repoRoot = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "comet-ops-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ops:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cometBin = filepath.Join(dir, "comet")
	args := []string{"build", "-o", cometBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/comet")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ops: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// logBuf collects a node's log lines.
type logBuf struct {
	mu    sync.Mutex
	lines []string
	added chan struct{} // closed and replaced on every line
}

func newLogBuf() *logBuf { return &logBuf{added: make(chan struct{})} }

func (b *logBuf) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	close(b.added)
	b.added = make(chan struct{})
	b.mu.Unlock()
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// waitFor waits for a line holding s, up to waitTimeout.
func (b *logBuf) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		b.mu.Lock()
		for _, l := range b.lines {
			if strings.Contains(l, s) {
				b.mu.Unlock()
				return l
			}
		}
		added := b.added
		b.mu.Unlock()
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("no log line with %q within %s:\n%s", s, waitTimeout, b)
		}
	}
}

// node is one cmd/comet process with a public and an admin listener.
type node struct {
	Addr, Admin string // host:port
	cmd         *exec.Cmd
	log         *logBuf
	exited      chan struct{}
	err         error
	stopOnce    sync.Once
	stopErr     error
}

// URL is the public base URL.
func (n *node) URL() string { return "http://" + n.Addr }

// AdminURL is the admin base URL.
func (n *node) AdminURL() string { return "http://" + n.Admin }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode runs comet with args on free loopback ports (-addr and
// -admin-addr, unless args name them) and stops it when the test ends,
// failing the test if it did not exit cleanly or logged a panic or a
// race.
func startNode(t *testing.T, args ...string) *node {
	t.Helper()
	return startNodeWith(t, nil, args...)
}

// startNodeWith is startNode with comet run through a launcher (prlimit).
func startNodeWith(t *testing.T, launcher []string, args ...string) *node {
	t.Helper()
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		n, err := tryStart(t, launcher, args)
		if err == nil {
			t.Cleanup(func() {
				if err := n.stop(); err != nil {
					t.Errorf("comet %v: %v\n--- log ---\n%s", args, err, n.log)
				}
				if l := n.log.String(); strings.Contains(l, "DATA RACE") || strings.Contains(l, "panic") {
					t.Errorf("comet %v logged a panic or a data race:\n%s", args, l)
				}
			})
			return n
		}
		last = fmt.Sprintf("%v\n%s", err, n.log)
		if !strings.Contains(last, "address already in use") {
			break
		}
	}
	t.Fatalf("starting comet %v: %s", args, last)
	return nil
}

func hasArg(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func tryStart(t *testing.T, launcher, args []string) (*node, error) {
	n := &node{log: newLogBuf(), exited: make(chan struct{})}
	full := append([]string{}, args...)
	if !hasArg(args, "-addr") {
		n.Addr = freeAddr(t)
		full = append(full, "-addr", n.Addr)
	}
	if !hasArg(args, "-admin-addr") {
		n.Admin = freeAddr(t)
		full = append(full, "-admin-addr", n.Admin)
	}
	if !hasArg(args, "-auth") {
		full = append(full, "-auth", "open")
	}
	argv := append(append(append([]string{}, launcher...), cometBin), full...)
	n.cmd = exec.Command(argv[0], argv[1:]...)
	n.cmd.Env = cleanEnv()
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return n, err
	}
	if err := n.cmd.Start(); err != nil {
		return n, err
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			n.log.add(line)
			if strings.Contains(line, "admin listener") || (n.Admin == "" && strings.Contains(line, "comet listening")) {
				once.Do(func() { close(listening) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	select {
	case <-listening:
	case <-n.exited:
		return n, fmt.Errorf("exited before listening: %v", n.err)
	case <-time.After(startTimeout):
		_ = n.cmd.Process.Kill()
		<-n.exited
		return n, fmt.Errorf("not listening after %s", startTimeout)
	}
	return n, nil
}

// cleanEnv is the test's environment without COMET_ variables, which the
// binary would read as keys.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMET_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// signal sends sig to the node.
func (n *node) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() error {
	n.stopOnce.Do(func() {
		select {
		case <-n.exited:
		default:
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-n.exited:
			if n.err != nil {
				n.stopErr = fmt.Errorf("exit after SIGTERM: %w", n.err)
			}
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
			n.stopErr = fmt.Errorf("still running 30s after SIGTERM; killed")
		}
	})
	return n.stopErr
}

var client = &http.Client{Timeout: 10 * time.Second}

// get fetches url with an optional admin token and returns the status
// and body.
func get(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// scrape reads the node's /metrics with Prometheus's text parser.
func (n *node) scrape(t *testing.T, token string) metricsView {
	t.Helper()
	code, _, body := get(t, n.AdminURL()+"/metrics", token)
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return metricsView(fams)
}

// waitMetrics scrapes until cond holds.
func (n *node) waitMetrics(t *testing.T, token, what string, cond func(metricsView) bool) metricsView {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		m := n.scrape(t, token)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in /metrics within %s", what, waitTimeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

type metricsView map[string]*dto.MetricFamily

// get returns a sample's value (a histogram's count); labels are name,
// value pairs; -1 when there is no such sample.
func (m metricsView) get(name string, labels ...string) float64 {
	f := m[name]
	if f == nil {
		return -1
	}
next:
	for _, s := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			ok := false
			for _, lp := range s.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		switch {
		case s.Counter != nil:
			return s.GetCounter().GetValue()
		case s.Gauge != nil:
			return s.GetGauge().GetValue()
		case s.Histogram != nil:
			return float64(s.GetHistogram().GetSampleCount())
		case s.Untyped != nil:
			return s.GetUntyped().GetValue()
		}
	}
	return -1
}

// publish posts data to channel ch through the node's API and returns the
// seq.
func (n *node) publish(t *testing.T, ch, data string) (uint64, error) {
	req, err := http.NewRequest("POST", n.URL()+"/api/publish", strings.NewReader(fmt.Sprintf(`{"channel":%q,"data":%s}`, ch, data)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("publish: %d %s", resp.StatusCode, body)
	}
	var seq uint64
	if _, err := fmt.Sscanf(string(body), `{"seq":%d`, &seq); err != nil {
		return 0, fmt.Errorf("publish answer %q: %w", body, err)
	}
	return seq, nil
}
