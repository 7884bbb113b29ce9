package bench

import (
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

// Target is one server under test.
type Target interface {
	// Name is the label in tables and JSON ("comet", "baseline", ...).
	Name() string
	// Start launches the server and returns once it answers its health
	// check; for an external address it only checks health.
	Start(ctx context.Context) error
	// Endpoint is how clients reach it; valid after Start.
	Endpoint() Endpoint
	// PIDs are the server's root processes (descendants are added by
	// SampleProcs); empty when the harness did not start it.
	PIDs() []int
	// Stop ends the server (SIGTERM, then SIGKILL after a grace period).
	Stop() error
}

// External is a target the harness did not start, reached at an address.
// Its memory and CPU are measured when ListenerPIDs can find the process
// listening on the address.
type External struct {
	Label string
	Ep    Endpoint
	// HTTPTransports says the server also serves Comet's /sse and /poll.
	HTTPTransports bool
	pids           []int
}

// Name implements Target.
func (e *External) Name() string { return e.Label }

// Start implements Target by waiting for the health check.
func (e *External) Start(ctx context.Context) error {
	if err := e.Ep.WaitHealthy(ctx); err != nil {
		return err
	}
	e.pids = ListenerPIDs(e.Ep.Addr)
	return nil
}

// Endpoint implements Target.
func (e *External) Endpoint() Endpoint { return e.Ep }

// PIDs implements Target: the processes found listening on the address.
func (e *External) PIDs() []int { return e.pids }

// Stop implements Target; it leaves the server running.
func (e *External) Stop() error { return nil }

// Process is a target the harness runs as a subprocess on a free loopback
// port. Args receives the port and the scratch directory and returns the
// command line; Files are written into the scratch directory first (config
// files), with "{{port}}" and "{{dir}}" substituted.
type Process struct {
	Label string
	Proto Proto
	Key   string
	// CPUs, when set, pins the server with taskset -c CPUs.
	CPUs  string
	Args  func(port int, dir string) []string
	Files map[string]string
	// Env is added to the environment.
	Env []string
	// HTTPTransports says the server also serves Comet's /sse and /poll.
	HTTPTransports bool
	// SubInURL says the server subscribes a WebSocket from its upgrade's
	// URL (Endpoint.SubInURL): Comet does, the floor and the baseline not.
	SubInURL bool

	cmd  *exec.Cmd
	dir  string
	ep   Endpoint
	logf *os.File
	exit chan error
}

// Name implements Target.
func (p *Process) Name() string { return p.Label }

// Endpoint implements Target.
func (p *Process) Endpoint() Endpoint { return p.ep }

// PIDs implements Target.
func (p *Process) PIDs() []int {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	return []int{p.cmd.Process.Pid}
}

// LogPath is the file that holds the server's stdout and stderr.
func (p *Process) LogPath() string { return filepath.Join(p.dir, "server.log") }

// Start implements Target.
func (p *Process) Start(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	p.dir, err = os.MkdirTemp("", "cometbench-"+p.Label+"-")
	if err != nil {
		return err
	}
	repl := strings.NewReplacer("{{port}}", itoa(port), "{{dir}}", p.dir)
	for name, body := range p.Files {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(repl.Replace(body)), 0o644); err != nil {
			return err
		}
	}
	argv := p.Args(port, p.dir)
	if strings.ContainsRune(argv[0], os.PathSeparator) {
		// The server runs in its scratch directory; keep the path valid.
		if abs, err := filepath.Abs(argv[0]); err == nil {
			argv[0] = abs
		}
	}
	if p.CPUs != "" {
		argv = append([]string{"taskset", "-c", p.CPUs}, argv...)
	}
	p.logf, err = os.Create(p.LogPath())
	if err != nil {
		return err
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.logf, p.logf
	p.cmd.Env = append(os.Environ(), p.Env...)
	p.cmd.Dir = p.dir
	// Own process group, so Stop reaches nginx's workers too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("bench: start %s: %w", p.Label, err)
	}
	p.exit = make(chan error, 1)
	go func() { p.exit <- p.cmd.Wait() }()
	p.ep = Endpoint{Proto: p.Proto, Addr: fmt.Sprintf("127.0.0.1:%d", port), APIKey: p.Key, SubInURL: p.SubInURL}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.exit:
			p.exit <- errors.New("exited")
			cancel()
		case <-hctx.Done():
		}
	}()
	if err := p.ep.WaitHealthy(hctx); err != nil {
		_ = p.Stop()
		log, _ := os.ReadFile(p.LogPath())
		return fmt.Errorf("bench: %s did not become healthy: %w; log tail: %s", p.Label, err, tail(log, 600))
	}
	return nil
}

// Stop implements Target.
func (p *Process) Stop() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exit:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exit
	}
	p.cmd = nil
	if p.logf != nil {
		p.logf.Close()
	}
	return os.RemoveAll(p.dir)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds; Start then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// TargetOptions are the knobs shared by the built-in targets.
type TargetOptions struct {
	CometBin string // path to bin/comet
	// CometSubMessage makes Comet's WebSockets subscribe with a message
	// after the upgrade, not in its URL: for binaries from before /ws?ch=.
	CometSubMessage bool
	Self            string // path to cometbench (runs serve-baseline)
	CentrifugoBin   string
	NginxBin        string
	APIKey          string
	CPUs            string // taskset list for the server, "" = no pinning
	Workers         int    // event loops / worker processes, 0 = NumCPU
	HistorySize     int
	// Cluster configures the cluster targets (comet-cluster, ...).
	Cluster ClusterOptions
}

// CometTarget runs bin/comet.
func CometTarget(o TargetOptions) *Process {
	return &Process{Label: "comet", Proto: ProtoComet, Key: o.APIKey, CPUs: o.CPUs, HTTPTransports: true, SubInURL: !o.CometSubMessage,
		Args: func(port int, _ string) []string {
			// Every load client shares one loopback address: no per-address cap.
			a := []string{o.CometBin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-api-key", o.APIKey,
				"-max-conns-per-ip", "-1", "-auth", "open"}
			if o.Workers > 0 {
				a = append(a, "-loops", itoa(o.Workers))
			}
			if o.HistorySize > 0 {
				a = append(a, "-history-size", itoa(o.HistorySize))
			}
			return a
		}}
}

// BaselineTarget runs the gorilla/websocket hub via "cometbench
// serve-baseline".
func BaselineTarget(o TargetOptions) *Process {
	var env []string
	if o.Workers > 0 {
		env = append(env, "GOMAXPROCS="+itoa(o.Workers))
	}
	return &Process{Label: "baseline", Proto: ProtoComet, Key: o.APIKey, CPUs: o.CPUs, Env: env,
		Args: func(port int, _ string) []string {
			return []string{o.Self, "serve-baseline", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-api-key", o.APIKey}
		}}
}

// servesHTTPTransports reports whether t serves Comet's /sse and /poll, so
// that their scenarios run against it.
func servesHTTPTransports(t Target) bool {
	switch t := t.(type) {
	case *Process:
		return t.HTTPTransports
	case *External:
		return t.HTTPTransports
	case *Cluster:
		return t.HTTPTransports
	}
	return false
}
