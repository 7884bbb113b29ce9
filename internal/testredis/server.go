package testredis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure a Server. The zero value is a server with no
// persistence, no password, and nothing else set.
type Options struct {
	// AppendFsync turns the append-only file on with this fsync policy:
	// "always" or "everysec". Empty keeps AOF off (nothing survives a
	// restart).
	AppendFsync string
	// Password is required from clients (requirepass) when set.
	Password string
	// ReplicaOf makes the server a replica of the server at this address
	// ("127.0.0.1:port"); Start returns once the replication link is up.
	ReplicaOf string
	// TLS serves TLS only (no plain port), with a self-signed
	// certificate for 127.0.0.1 that Server.TLSConfig trusts.
	TLS bool
	// Config holds extra redis.conf lines, for example
	// "maxmemory 100mb".
	Config []string

	cluster bool
}

// ReadyTimeout bounds how long Start, Restart and StartCluster wait for a
// server to answer PING (loading an append-only file included). It is
// generous because CI runs on two busy cores.
const ReadyTimeout = 30 * time.Second

// Server is one redis-server process on a loopback port. Its port and
// data directory stay the same across Stop/Restart and Kill/Restart, so
// clients can reconnect to the same address and find the data an
// append-only file kept.
type Server struct {
	t    testing.TB
	bin  string
	opts Options
	dir  string
	tls  *tls.Config // client side, with Options.TLS

	mu     sync.Mutex
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited and been reaped
}

// errPortTaken says the chosen port was bound by someone else first.
var errPortTaken = errors.New("testredis: port taken")

// Start runs a redis-server with opts on a free loopback port, waits until
// it answers PING, and stops it when the test ends. It fails the test if
// redis-server is missing or does not come up.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(t, opts, t.TempDir())
	if err := s.startFree(); err != nil {
		t.Fatal(err)
	}
	if opts.ReplicaOf != "" {
		if err := s.waitReplica(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func newServer(t testing.TB, opts Options, dir string) *Server {
	t.Helper()
	switch opts.AppendFsync {
	case "", "always", "everysec":
	default:
		t.Fatalf("testredis: AppendFsync %q: want \"always\" or \"everysec\"", opts.AppendFsync)
	}
	s := &Server{t: t, bin: binary(t), opts: opts, dir: dir}
	if opts.TLS {
		var err error
		if s.tls, err = makeCert(dir); err != nil {
			t.Fatalf("testredis: certificate: %v", err)
		}
	}
	t.Cleanup(s.Kill)
	return s
}

// binary finds redis-server or fails the test: a silent skip would let a
// suite pass without ever touching Redis.
func binary(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("testredis: redis-server not found (install it: scripts/test-deps.sh, or apt-get install redis-server)")
	}
	return p
}

// startFree launches on a fresh free port, retrying when another process
// wins the race for the port between choosing and binding it.
func (s *Server) startFree() error {
	var err error
	for range 20 {
		var port int
		if port, err = freePort(s.opts.cluster); err != nil {
			return err
		}
		if err = s.launch(port); !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

// freePort returns a loopback port that was free a moment ago. For a
// cluster node the bus port (port+10000) must be free as well.
func freePort(cluster bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err == nil {
			bus.Close()
			return port, nil
		}
	}
	return 0, errors.New("testredis: no free port pair for a cluster node")
}

// config renders redis.conf for port.
func (s *Server) config(port int) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if s.opts.TLS {
		line("port 0")
		line("tls-port %d", port)
		line("tls-cert-file tls.crt")
		line("tls-key-file tls.key")
		line("tls-ca-cert-file tls.crt")
		line("tls-auth-clients no")
	} else {
		line("port %d", port)
	}
	line("bind 127.0.0.1")
	line("dir %q", s.dir)
	line("logfile %q", "redis.log")
	line("daemonize no")
	line(`save ""`)
	// A replica's first sync would otherwise wait 5 s for more replicas.
	line("repl-diskless-sync-delay 0")
	if s.opts.AppendFsync != "" {
		line("appendonly yes")
		line("appendfsync %s", s.opts.AppendFsync)
	} else {
		line("appendonly no")
	}
	if s.opts.Password != "" {
		line("requirepass %q", s.opts.Password)
		line("masterauth %q", s.opts.Password)
	}
	if s.opts.ReplicaOf != "" {
		host, p, _ := net.SplitHostPort(s.opts.ReplicaOf)
		line("replicaof %s %s", host, p)
	}
	if s.opts.cluster {
		line("cluster-enabled yes")
		line("cluster-config-file nodes.conf")
		line("cluster-node-timeout 3000")
		// One node of a test cluster being down must not stop the others
		// from serving their own slots.
		line("cluster-require-full-coverage no")
	}
	for _, l := range s.opts.Config {
		line("%s", l)
	}
	return b.String()
}

// launch starts the process on port and waits until it answers PING.
func (s *Server) launch(port int) error {
	conf := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(conf, []byte(s.config(port)), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "redis.log")
	logStart := fileSize(logPath)
	cmd := exec.Command(s.bin, conf)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testredis: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.port, s.cmd, s.exited = port, cmd, exited
	s.mu.Unlock()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(ReadyTimeout)
	for {
		select {
		case <-exited:
			tail := logTail(logPath, logStart)
			if strings.Contains(tail, "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("testredis: redis-server on %s exited before ready: %s\n%s", addr, cmd.ProcessState, tail)
		default:
		}
		v, err := do(addr, s.opts.Password, s.tls, time.Second, "PING")
		if err == nil && v == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("testredis: redis-server on %s not ready after %v: %v\n%s", addr, ReadyTimeout, err, logTail(logPath, logStart))
		}
		// Polling PING is the readiness check: the process gives no other
		// signal. A short pause keeps it from spinning a busy core.
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns what the server logged since offset, at most the last
// 4 KiB, for failure messages.
func logTail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func (s *Server) waitReplica() error {
	deadline := time.Now().Add(ReadyTimeout)
	for {
		info, err := s.Info("replication")
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testredis: replica %s never linked to %s: %v %s", s.Addr(), s.opts.ReplicaOf, err, info)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr is the server's "127.0.0.1:port"; it stays the same across
// restarts.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Port is the server's port.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// TLSConfig is a client configuration that trusts the server's
// certificate; nil unless Options.TLS. Each call returns a copy.
func (s *Server) TLSConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Dir is the server's data directory (its redis.conf, redis.log, and
// append-only files).
func (s *Server) Dir() string { return s.dir }

// Pid is the running process's id, 0 when it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	select {
	case <-s.exited:
		return 0
	default:
		return s.cmd.Process.Pid
	}
}

// Do runs one command on the server (on a new connection, with the
// server's password) and returns its reply: string, int64, []any or nil;
// an error reply is returned as an Error.
func (s *Server) Do(args ...string) (any, error) {
	return do(s.Addr(), s.opts.Password, s.tls, 5*time.Second, args...)
}

// Info returns INFO section's text.
func (s *Server) Info(section string) (string, error) {
	v, err := s.Do("INFO", section)
	if err != nil {
		return "", err
	}
	str, _ := v.(string)
	return str, nil
}

// Stop shuts the server down gracefully (SIGTERM: Redis flushes its
// append-only file) and waits for it to exit. Stopping a stopped server
// does nothing.
func (s *Server) Stop() { s.signal(syscall.SIGTERM, 20*time.Second) }

// Kill ends the server with SIGKILL, as a crash would: whatever the
// append-only file had not synced is lost. Killing a stopped server does
// nothing.
func (s *Server) Kill() { s.signal(syscall.SIGKILL, 20*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	// The whole group: an AOF rewrite child must not outlive the server.
	syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(wait):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Restart stops the server if it runs and starts it again on the same
// port with the same data directory, waiting until it answers PING (and
// has loaded its append-only file).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	port := s.Port()
	var err error
	for range 50 {
		if err = s.launch(port); !errors.Is(err, errPortTaken) {
			break
		}
		// Someone holds our port (a connection in a strange state, or a
		// process that raced for it); it is ours again in a moment.
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
}

// CPUTime is the user plus system CPU time the running process has used,
// read from /proc (Linux only).
func (s *Server) CPUTime() (time.Duration, error) {
	pid := s.Pid()
	if pid == 0 {
		return 0, errors.New("testredis: server not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from the
	// closing parenthesis. utime and stime are fields 14 and 15.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("testredis: short /proc stat %q", rest)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ on every Linux Go supports
	return time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}
