// Copyright (c) 2026 The Comet Authors. All rights reserved.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//go:build linux

// Tests of the Comet patch for accept errors (COMET-PATCHES.md). The engine runs
// in a child process (this test binary, re-executed) whose RLIMIT_NOFILE is
// lowered, so that running out of descriptors cannot disturb the parent.

package gnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The child's environment: cometChildEnv selects the child, the others say how
// it runs.
const (
	cometChildEnv     = "COMET_GNET_CHILD"
	cometHandlerEnv   = "COMET_GNET_HANDLER" // "pause", "zero" or "nil"
	cometReusePortEnv = "COMET_GNET_REUSEPORT"
	cometNoFileEnv    = "COMET_GNET_NOFILE"
)

// Lines the child writes on stdout.
const (
	cometAddrLine    = "COMET-ADDR "
	cometHandlerLine = "COMET-HANDLER "
	cometStoppedLine = "COMET-STOPPED "
)

const (
	cometNoFile = 64                    // the child's descriptor limit
	cometExcess = 100                   // connections dialled beyond it
	cometPause  = 20 * time.Millisecond // what the child's handler returns
	cometWait   = 20 * time.Second      // deadline of every wait, generous for -race on busy cores
)

// TestCometAcceptErrorSurvives runs an echo engine whose AcceptErrorHandler asks
// for a pause, fills its descriptor table from outside, and checks that the
// engine stays up, sheds what it cannot accept and accepts again once
// descriptors are free.
func TestCometAcceptErrorSurvives(t *testing.T) {
	for _, reusePort := range []bool{false, true} {
		reusePort := reusePort
		t.Run("ReusePort="+strconv.FormatBool(reusePort), func(t *testing.T) {
			child := startCometChild(t, "pause", reusePort)
			first := dialCometEcho(t, child.addr)

			held := dialComet(t, child.addr, cometNoFile+cometExcess)
			line := child.waitLine(t, cometHandlerLine)
			if !strings.Contains(line, syscall.EMFILE.Error()) {
				t.Fatalf("handler got %q, want EMFILE", line)
			}

			// Every held connection is either served or was shed: none hangs
			// in the backlog.
			accepted, shed := classifyComet(t, held)
			t.Logf("%d connections dialled past a limit of %d descriptors: %d accepted, %d shed",
				len(held), cometNoFile, len(accepted), len(shed))
			if len(accepted) == 0 || len(shed) == 0 {
				t.Fatalf("accepted %d and shed %d, want both > 0", len(accepted), len(shed))
			}
			expectCometEcho(t, first)

			// Free some descriptors: the engine must accept again by itself.
			const freed = 8
			for _, c := range accepted[:freed] {
				_ = c.Close()
			}
			start := time.Now()
			fresh := redialComet(t, child.addr)
			t.Logf("recovery: a new connection was served %v after %d served ones closed",
				time.Since(start), freed)

			expectCometEcho(t, fresh)
			expectCometEcho(t, first)
			child.stop(t)
		})
	}
}

// TestCometAcceptErrorFatal checks that without a handler, or with one that
// returns no pause, running out of descriptors still stops the engine as in
// upstream gnet: gnet.Run returns nil and established connections are closed.
func TestCometAcceptErrorFatal(t *testing.T) {
	for _, handler := range []string{"nil", "zero"} {
		handler := handler
		t.Run("handler="+handler, func(t *testing.T) {
			child := startCometChild(t, handler, false)
			first := dialCometEcho(t, child.addr)

			// The engine may die while this dials; refused dials are expected.
			held, _ := dialCometUpTo(child.addr, cometNoFile+cometExcess)
			t.Cleanup(func() { closeComet(held) })

			if handler == "zero" {
				child.waitLine(t, cometHandlerLine)
			}
			line := child.waitLine(t, cometStoppedLine)
			if !strings.Contains(line, "err=<nil>") {
				t.Fatalf("child reported %q, want gnet.Run to return nil", line)
			}
			_ = first.SetReadDeadline(time.Now().Add(cometWait))
			if _, err := first.Read(make([]byte, 1)); !isCometClosed(err) {
				t.Fatalf("established connection read: %v, want it closed by the stopped engine", err)
			}
			child.wait(t)
		})
	}
}

// TestCometChild is the child process's engine; it is skipped unless the
// parent set cometChildEnv.
func TestCometChild(t *testing.T) {
	if os.Getenv(cometChildEnv) == "" {
		t.Skip("runs only as the child of the TestCometAcceptError tests")
	}
	limit, err := strconv.ParseUint(os.Getenv(cometNoFileEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var rl syscall.Rlimit
	if err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = limit
	if err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}

	h := &cometEcho{}
	opts := Options{
		NumEventLoop: 1,
		ReusePort:    os.Getenv(cometReusePortEnv) == "true",
		Logger:       cometLogger{},
	}
	switch os.Getenv(cometHandlerEnv) {
	case "pause":
		opts.AcceptErrorHandler = h.onAcceptError(cometPause)
	case "zero":
		opts.AcceptErrorHandler = h.onAcceptError(0)
	}
	err = Run(h, "tcp://127.0.0.1:0", WithOptions(opts))
	fmt.Printf("%scalls=%d err=%v\n", cometStoppedLine, h.calls.Load(), err)
}

// cometEcho is the child's event handler: an echo server that stops when its
// stdin closes.
type cometEcho struct {
	BuiltinEventEngine
	calls atomic.Int64 // AcceptErrorHandler calls
}

func (h *cometEcho) OnBoot(eng Engine) Action {
	fd, err := eng.Dup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dup:", err)
		return Shutdown
	}
	sa, err := unix.Getsockname(fd)
	_ = unix.Close(fd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "getsockname:", err)
		return Shutdown
	}
	in4 := sa.(*unix.SockaddrInet4)
	fmt.Printf("%s%s\n", cometAddrLine, net.JoinHostPort(net.IP(in4.Addr[:]).String(), strconv.Itoa(in4.Port)))
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = eng.Stop(context.Background())
	}()
	return None
}

func (h *cometEcho) OnTraffic(c Conn) Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return None
}

func (h *cometEcho) onAcceptError(d time.Duration) func(error) time.Duration {
	return func(err error) time.Duration {
		if h.calls.Add(1) == 1 {
			fmt.Printf("%s%v\n", cometHandlerLine, err)
		}
		return d
	}
}

// cometLogger sends gnet's warnings and errors to stderr, which the parent
// shows if a test fails.
type cometLogger struct{}

func (cometLogger) Debugf(string, ...any) {}
func (cometLogger) Infof(string, ...any)  {}
func (cometLogger) Warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "warn: "+format+"\n", args...)
}

func (cometLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
}

func (cometLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fatal: "+format+"\n", args...)
	os.Exit(1)
}

// cometChild is a running child engine, seen from the parent.
type cometChild struct {
	stdin  io.WriteCloser
	addr   string
	lines  chan string // the child's COMET- lines; closed at its exit
	stderr lockedBuffer
	done   chan error // the child's exit status
}

func startCometChild(t *testing.T, handler string, reusePort bool) *cometChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCometChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		cometChildEnv+"=1",
		cometHandlerEnv+"="+handler,
		cometReusePortEnv+"="+strconv.FormatBool(reusePort),
		cometNoFileEnv+"="+strconv.Itoa(cometNoFile),
	)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &cometChild{stdin: stdin, lines: make(chan string, 64), done: make(chan error, 1)}
	cmd.Stderr = &c.stderr
	if err = cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// The child writes a handful of COMET- lines, so lines never fills up.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "COMET-") {
				c.lines <- line
			}
		}
		close(c.lines)
		c.done <- cmd.Wait() // only once stdout is drained, as os/exec requires
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("child stderr:\n%s", c.stderr.String())
		}
	})
	c.addr = strings.TrimPrefix(c.waitLine(t, cometAddrLine), cometAddrLine)
	return c
}

// waitLine returns the child's next line that starts with prefix, skipping
// others.
func (c *cometChild) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.NewTimer(cometWait)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before writing %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline.C:
			t.Fatalf("no %q line from the child within %v", prefix, cometWait)
		}
	}
}

// stop closes the child's stdin, which makes it stop its engine, and checks
// that gnet.Run returned nil and the child exited cleanly.
func (c *cometChild) stop(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	if line := c.waitLine(t, cometStoppedLine); !strings.Contains(line, "err=<nil>") {
		t.Fatalf("child reported %q, want a clean stop", line)
	}
	c.wait(t)
}

func (c *cometChild) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("child exited with %v", err)
		}
	case <-time.After(cometWait):
		t.Fatalf("child still running %v after its engine stopped", cometWait)
	}
}

// lockedBuffer collects the child's stderr, written by os/exec's copying
// goroutine and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func dialComet(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns, err := dialCometUpTo(addr, n)
	t.Cleanup(func() { closeComet(conns) })
	if err != nil {
		t.Fatalf("dialled %d of %d connections: %v", len(conns), n, err)
	}
	return conns
}

// dialCometUpTo dials n connections, stopping at the first error. A dial
// completes once the kernel queued the connection, accepted or not.
func dialCometUpTo(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, cometWait)
		if err != nil {
			return conns, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeComet(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

func dialCometEcho(t *testing.T, addr string) net.Conn {
	t.Helper()
	c := dialComet(t, addr, 1)[0]
	expectCometEcho(t, c)
	return c
}

func expectCometEcho(t *testing.T, c net.Conn) {
	t.Helper()
	if err := cometEchoes(c, time.Now().Add(cometWait)); err != nil {
		t.Fatalf("echo on %v: %v", c.LocalAddr(), err)
	}
}

// cometEchoes writes one message on c and reads it back before deadline.
func cometEchoes(c net.Conn, deadline time.Time) error {
	const msg = "ping"
	_ = c.SetDeadline(deadline)
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echoed %q, want %q", buf, msg)
	}
	return nil
}

// classifyComet sorts conns into those the engine serves and those it shed
// (closed or reset); it fails the test if any is still unanswered at the
// deadline, that is, left hanging in the backlog.
func classifyComet(t *testing.T, conns []net.Conn) (accepted, shed []net.Conn) {
	t.Helper()
	deadline := time.Now().Add(cometWait)
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			errs[i] = cometEchoes(c, deadline)
		}(i, c)
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			accepted = append(accepted, conns[i])
		case isCometClosed(err):
			shed = append(shed, conns[i])
		default:
			t.Fatalf("connection %d of %d: %v, want an echo or a close", i, len(conns), err)
		}
	}
	return accepted, shed
}

// redialComet dials until a connection is served, as clients reconnect after
// being shed, and returns it.
func redialComet(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(cometWait)
	for attempt := 1; ; attempt++ {
		c, err := net.DialTimeout("tcp", addr, cometWait)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		err = cometEchoes(c, deadline)
		if err == nil {
			return c
		}
		_ = c.Close()
		if !isCometClosed(err) || time.Now().After(deadline) {
			t.Fatalf("attempt %d: %v, still not served", attempt, err)
		}
	}
}

// isCometClosed reports whether err says the peer closed or reset the
// connection, which is how a shed connection ends.
func isCometClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
