//go:build unix

package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second // a race-instrumented node on two busy cores
	stopTimeout  = 20 * time.Second // above the node's drain timeout
	apiKey       = "cluster-test-key"
)

// logBuffer collects a process's output from its reader goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) line(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
	b.buf.WriteByte('\n')
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one cmd/comet process on the engine the cluster gave it.
type node struct {
	t      *testing.T
	name   string
	addr   string // 127.0.0.1:port
	args   []string
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited closes
	killed bool          // ended by kill(): its exit status means nothing
}

// URL is the node's base URL, http://127.0.0.1:port.
func (n *node) URL() string { return "http://" + n.addr }

// WS is the node's WebSocket base URL, ws://127.0.0.1:port.
func (n *node) WS() string { return "ws://" + n.addr }

// startNode runs comet with args on a free loopback port (retried when
// another process wins the port) and returns once it listens and its
// /healthz answers 200, which on the Redis engine means Redis answered too.
// The node is stopped when the test ends, and the test fails if it logged a
// panic or a data race, or did not exit cleanly after SIGTERM.
func startNode(t *testing.T, name string, args ...string) *node {
	t.Helper()
	var last error
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		n := &node{t: t, name: name, addr: addr, args: args}
		if last = n.start(); last == nil {
			t.Cleanup(n.cleanup)
			return n
		}
		if !strings.Contains(n.log.String(), "address already in use") {
			break // only a lost race for the port is worth another try
		}
	}
	t.Fatalf("node %s: %v", name, last)
	return nil
}

func (n *node) start() error {
	n.log, n.exited, n.killed, n.err = &logBuffer{}, make(chan struct{}), false, nil
	argv := append([]string{"-addr", n.addr}, n.args...)
	n.cmd = exec.Command(cometBin, argv...)
	n.cmd.Env = nodeEnv()
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return err
	}
	n.cmd.Stdout = nil
	if err := n.cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			n.log.line(line)
			if !announced && strings.Contains(line, `msg="comet listening"`) {
				announced = true
				close(ready)
			}
		}
		// Whatever a too-long line left must still be read, or the node
		// would block writing its log.
		_, _ = bufio.NewReader(stderr).WriteTo(discard{})
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	select {
	case <-ready:
	case <-n.exited:
		return fmt.Errorf("exited before listening: %v\n%s", n.err, n.log)
	case <-time.After(startTimeout):
		n.kill()
		return fmt.Errorf("not listening after %s\n%s", startTimeout, n.log)
	}
	if err := waitHealth(n.URL(), 200, startTimeout); err != nil {
		n.kill()
		return fmt.Errorf("%v\n%s", err, n.log)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// nodeEnv is the test's environment without COMET_ variables, which the
// node would read as flags.
func nodeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMET_") {
			env = append(env, kv)
		}
	}
	return env
}

// kill ends the node with SIGKILL, as a crash would, and waits for it.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	n.killed = true
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// stop sends SIGTERM (the node drains) and waits for it to exit; it returns
// an error when the exit was not clean or had to be forced.
func (n *node) stop() error {
	select {
	case <-n.exited:
		return nil
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		if n.err != nil {
			return fmt.Errorf("exit after SIGTERM: %w", n.err)
		}
		return nil
	case <-time.After(stopTimeout):
		n.kill()
		return fmt.Errorf("still running %s after SIGTERM; killed", stopTimeout)
	}
}

// running reports whether the process has not exited.
func (n *node) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

func (n *node) cleanup() {
	killed := n.killed
	if err := n.stop(); err != nil && !killed {
		n.t.Errorf("node %s: %v\n--- log ---\n%s", n.name, err, n.log)
	}
	if log := n.log.String(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic") {
		n.t.Errorf("node %s logged a panic or a data race:\n%s", n.name, log)
	}
	if n.t.Failed() && testing.Verbose() {
		n.t.Logf("--- node %s log ---\n%s", n.name, n.log)
	}
}

// health returns the status /healthz answers now (0 when it cannot be
// reached).
func health(base string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitHealth waits until base's /healthz answers want. Polling is the only
// signal a process gives of its readiness; the pause keeps a busy core free.
func waitHealth(base string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	got := 0
	for time.Now().Before(deadline) {
		if got = health(base); got == want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s/healthz: %d, want %d after %s", base, got, want, timeout)
}
