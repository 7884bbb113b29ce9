//go:build unix

// Package e2e runs Comet's end-to-end suites: the real cmd/comet binary,
// driven by independent WebSocket clients (node's ws in test/node, Python's
// websockets in test/python) started as subprocesses with COMET_URL set.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
)

const (
	// nodeWSVersion is the ws release pinned in test/node/package.json.
	nodeWSVersion = "8.18.3"
	// python is Debian's interpreter, which has python3-websockets; the
	// python3 on PATH may be another build without it.
	python = "/usr/bin/python3"

	startTimeout  = 20 * time.Second // a race-instrumented binary starts slowly
	stopTimeout   = 15 * time.Second // above the server's 10 s drain timeout
	clientTimeout = 45 * time.Second
	apiKey        = "e2e-secret-key"
)

var (
	cometBin string // built by TestMain
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "comet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
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
		fmt.Fprintf(os.Stderr, "e2e: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// syncBuffer collects a server's log from its stderr reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) WriteLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
	b.buf.WriteByte('\n')
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one cmd/comet process.
type server struct {
	URL    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited closes

	stopOnce sync.Once
	stopErr  error
}

// startServer runs comet on a free loopback port with args and stops it
// when the test ends, failing the test if it did not exit cleanly or
// logged a panic or a data race.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerWith(t, nil, args...)
}

// startServerWith is startServer with comet run through a launcher.
func startServerWith(t *testing.T, launcher []string, args ...string) *server {
	t.Helper()
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStartWith(launcher, args)
		if err == nil {
			t.Cleanup(func() {
				if err := s.stop(); err != nil {
					t.Errorf("comet %v: %v\n--- server log ---\n%s", args, err, s.log)
				}
				if log := s.log.String(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic") {
					t.Errorf("comet %v logged a panic or a data race:\n%s", args, log)
				}
			})
			return s
		}
		lastLog = fmt.Sprintf("%v\n%s", err, s.log)
		if !strings.Contains(lastLog, "address already in use") {
			break // only a lost race for the port is worth a retry
		}
	}
	t.Fatalf("starting comet %v: %s", args, lastLog)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tryStart runs comet with args on a free loopback port.
func tryStart(args []string) (*server, error) { return tryStartWith(nil, args) }

func tryStartWith(launcher, args []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return &server{log: &syncBuffer{}}, err
	}
	return startAtWith(fmt.Sprintf("127.0.0.1:%d", port), launcher, args)
}

// tryStartAt is tryStart on a given address (a restart must reuse the
// port): it retries while the port is still held, for up to startTimeout.
func tryStartAt(addr string, args []string) (*server, error) {
	deadline := time.Now().Add(startTimeout)
	for {
		s, err := startAt(addr, args)
		if err == nil || time.Now().After(deadline) || !strings.Contains(s.log.String(), "address already in use") {
			return s, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startAt runs comet on addr and returns once it listens and answers
// /healthz.
func startAt(addr string, args []string) (*server, error) {
	return startAtWith(addr, nil, args)
}

// startAtWith is startAt with comet run through a launcher (prlimit ...).
func startAtWith(addr string, launcher, args []string) (*server, error) {
	s := &server{log: &syncBuffer{}, exited: make(chan struct{}), URL: "http://" + addr}
	if !hasFlag(args, "-auth") {
		args = append([]string{"-auth", "open"}, args...) // the suites that test identity say so
	}
	argv := append(append(append([]string{}, launcher...), cometBin, "-addr", addr), args...)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = serverEnv()
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return s, err
	}
	if err := s.cmd.Start(); err != nil {
		return s, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteLine(line)
			if !announced && strings.Contains(line, `msg="comet listening"`) {
				announced = true
				close(ready)
			}
		}
		// Drain what a too-long line left, so the process never blocks.
		_, _ = bufio.NewReader(stderr).WriteTo(discard{})
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-ready:
	case <-s.exited:
		return s, fmt.Errorf("exited before listening: %v", s.err)
	case <-time.After(startTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return s, fmt.Errorf("not listening after %s", startTimeout)
	}
	// The log line comes once the listener is bound; check it answers.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(s.URL + "/healthz")
	if err != nil {
		_ = s.stop()
		return s, fmt.Errorf("GET /healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		_ = s.stop()
		return s, fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// serverEnv is the test's environment without COMET_ variables, which the
// server would read as flags.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMET_") {
			env = append(env, kv)
		}
	}
	return env
}

// stop sends SIGTERM and waits for a clean exit, killing the process after
// stopTimeout. It reports a non-zero exit or a kill.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-s.exited:
			if s.err != nil {
				s.stopErr = fmt.Errorf("exit after SIGTERM: %w", s.err)
			}
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = fmt.Errorf("still running %s after SIGTERM; killed", stopTimeout)
		}
	})
	return s.stopErr
}

// runClient runs a client suite with a deadline, its whole process group
// killed at the deadline, and fails the test with its output if it fails.
// started, if set, is called once the process runs.
func runClient(t *testing.T, dir string, env []string, started func(), name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	if started != nil {
		started()
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out after %s\n%s", name, args, clientTimeout, &out)
	}
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, &out)
	}
	t.Logf("%s %v passed in %s", name, args, time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("output:\n%s", &out)
	}
}

func requireNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "test", "node")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run make test-deps")
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "ws", "package.json"))
	if err != nil {
		t.Fatalf("node module ws is missing (%v): run make test-deps", err)
	}
	if !bytes.Contains(pkg, []byte(`"version": "`+nodeWSVersion+`"`)) {
		t.Fatalf("test/node/node_modules/ws is not version %s: run make test-deps", nodeWSVersion)
	}
	return dir
}

func requirePython(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "test", "python")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import websockets; print(websockets.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import websockets (%v): run make test-deps\n%s", python, err, out)
	}
	t.Logf("python websockets %s", bytes.TrimSpace(out))
	return dir
}

func nodeTest(file string) []string {
	return []string{"--test", "--test-reporter=spec", file}
}

func TestNodeProtocol(t *testing.T) {
	t.Parallel()
	dir := requireNode(t)
	srv := startServer(t, "-api-key", apiKey)
	runClient(t, dir, []string{
		"COMET_URL=" + srv.URL,
		"COMET_TEST_API_KEY=" + apiKey,
		"COMET_TEST_MAX_MESSAGE_BYTES=65536",
	}, nil, "node", nodeTest("protocol.test.mjs")...)
}

func TestNodeEcho(t *testing.T) {
	t.Parallel()
	dir := requireNode(t)
	srv := startServer(t, "-echo")
	runClient(t, dir, []string{"COMET_URL=" + srv.URL}, nil, "node", nodeTest("echo.test.mjs")...)
}

func TestNodeKeepalive(t *testing.T) {
	t.Parallel()
	dir := requireNode(t)
	srv := startServer(t, "-ping-interval", "500ms", "-pong-timeout", "1500ms")
	runClient(t, dir, []string{"COMET_URL=" + srv.URL}, nil, "node", nodeTest("keepalive.test.mjs")...)
}

func TestPythonClient(t *testing.T) {
	t.Parallel()
	dir := requirePython(t)
	srv := startServer(t, "-history-size", "5", "-api-key", apiKey)
	runClient(t, dir, []string{"COMET_URL=" + srv.URL, "COMET_TEST_HISTORY_SIZE=5", "PYTHONDONTWRITEBYTECODE=1",
		"COMET_TEST_API_KEY=" + apiKey}, nil,
		python, "-m", "unittest", "-v", "test_client.ClientTest", "test_client.ProtocolErrorTest")
}

// TestPythonShutdown stops a dedicated server with SIGTERM once the Python
// clients are subscribed; they must see close 1001 and the server must
// exit 0.
func TestPythonShutdown(t *testing.T) {
	t.Parallel()
	dir := requirePython(t)
	srv := startServer(t)
	ready := filepath.Join(t.TempDir(), "ready")
	var wg sync.WaitGroup
	done := make(chan struct{})
	var stopErr error
	signalled := false
	runClient(t, dir, []string{"COMET_SHUTDOWN_URL=" + srv.URL, "COMET_READY_FILE=" + ready, "PYTHONDONTWRITEBYTECODE=1"},
		func() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					if _, err := os.Stat(ready); err == nil {
						signalled = true
						stopErr = srv.stop()
						return
					}
				}
			}()
		},
		python, "-m", "unittest", "-v", "test_client.ShutdownTest")
	close(done)
	wg.Wait()
	if !signalled {
		t.Fatal("the Python client never signalled it was ready for the shutdown")
	}
	if stopErr != nil {
		t.Fatalf("server after SIGTERM: %v\n%s", stopErr, srv.log)
	}
	if !strings.Contains(srv.log.String(), "draining") {
		t.Errorf("server did not log draining:\n%s", srv.log)
	}
}

// TestServerHarness checks the harness itself: a server it starts answers,
// and stop reports a server that does not exit cleanly.
func TestServerHarness(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
	if _, err := tryStart([]string{"-no-such-flag"}); err == nil {
		t.Fatal("tryStart accepted a server that cannot start")
	}
}

// hasFlag reports whether args set flag.
func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}
