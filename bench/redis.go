package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultRedisBin is Debian's redis-server.
const DefaultRedisBin = "/usr/bin/redis-server"

// RedisServer is a redis-server the harness runs for a cluster target, on a
// free loopback port with its data in a scratch directory.
type RedisServer struct {
	// Bin is the redis-server binary (default DefaultRedisBin, else PATH).
	Bin string
	// Fsync is the append-only file's appendfsync: "always", "everysec",
	// or "" for no AOF.
	Fsync string
	// CPUs, when set, pins it with taskset -c CPUs.
	CPUs string

	addr string
	dir  string
	cmd  *exec.Cmd
	exit chan struct{}
}

// Addr is 127.0.0.1:port, valid after Start.
func (r *RedisServer) Addr() string { return r.addr }

// PID is the server's process id, 0 when it does not run.
func (r *RedisServer) PID() int {
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *RedisServer) bin() (string, error) {
	if r.Bin != "" {
		return r.Bin, nil
	}
	if _, err := os.Stat(DefaultRedisBin); err == nil {
		return DefaultRedisBin, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("bench: redis-server not found (apt-get install redis-server)")
	}
	return p, nil
}

// Start launches the server and returns once it answers PING.
func (r *RedisServer) Start(ctx context.Context) error {
	bin, err := r.bin()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	r.dir, err = os.MkdirTemp("", "cometbench-redis-")
	if err != nil {
		return err
	}
	r.addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := []string{
		fmt.Sprintf("port %d", port), "bind 127.0.0.1", "dir " + r.dir, "logfile redis.log", `save ""`,
		// Every engine key has a TTL: an eviction policy would drop live
		// channels; a full Redis must refuse writes instead (docs/REDIS.md).
		"maxmemory-policy noeviction",
	}
	if r.Fsync != "" {
		conf = append(conf, "appendonly yes", "appendfsync "+r.Fsync)
	}
	confPath := filepath.Join(r.dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	argv := []string{bin, confPath}
	if r.CPUs != "" {
		argv = append([]string{"taskset", "-c", r.CPUs}, argv...)
	}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Dir = r.dir
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("bench: start redis-server: %w", err)
	}
	r.exit = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.exit) }()
	for {
		if err := redisPing(r.addr); err == nil {
			return nil
		}
		select {
		case <-r.exit:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			return fmt.Errorf("bench: redis-server exited: %s", tail(log, 600))
		case <-ctx.Done():
			_ = r.Stop()
			return fmt.Errorf("bench: redis-server on %s not ready: %w", r.addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redisPing sends an inline PING and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("bench: redis answered %q", line)
	}
	return nil
}

// Stop ends the server (SIGTERM, SIGKILL after 10 s) and removes its data.
func (r *RedisServer) Stop() error {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.exit:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exit
	}
	r.cmd = nil
	return os.RemoveAll(r.dir)
}
