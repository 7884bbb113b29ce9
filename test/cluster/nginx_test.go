//go:build unix

package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stripComments drops nginx comments (# to the end of the line; the file
// quotes no #).
func stripComments(conf string) string {
	return regexp.MustCompile(`#[^\n]*`).ReplaceAllString(conf, "")
}

// shippedConf is the nginx configuration operators deploy.
func shippedConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "nginx", "comet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	upstreamServer = regexp.MustCompile(`(?m)^([ \t]*)server[ \t]+127\.0\.0\.1:\d+([^;\n]*);[ \t]*\n`)
	ipv6Listen     = regexp.MustCompile(`(?m)^[ \t]*listen[ \t]+\[::\][^;\n]*;[ \t]*\n`)
)

// renderConf turns the shipped comet.conf into one for this test: the
// upstream lists nodes (with the parameters the shipped lines carry), the
// listens are on loopback ports (IPv6 ones dropped: tests use 127.0.0.0/8
// only), and the certificate is the test's. Every substitution must find
// exactly what it expects, so a change to the shipped file's shape fails
// here instead of silently testing something else.
func renderConf(shipped string, nodes []string, port, tlsPort int, cert selfSigned) (string, error) {
	servers := upstreamServer.FindAllStringSubmatchIndex(shipped, -1)
	if len(servers) == 0 {
		return "", fmt.Errorf("no upstream \"server 127.0.0.1:PORT ...;\" line")
	}
	indent := shipped[servers[0][2]:servers[0][3]]
	params := shipped[servers[0][4]:servers[0][5]]
	var lines strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&lines, "%sserver %s%s;\n", indent, n, params)
	}
	out := shipped[:servers[0][0]] + lines.String()
	prev := servers[0][1]
	for _, s := range servers[1:] {
		out += shipped[prev:s[0]]
		prev = s[1]
	}
	out += shipped[prev:]

	out = ipv6Listen.ReplaceAllString(out, "")
	for _, r := range []struct{ old, new string }{
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", tlsPort)},
		{"ssl_certificate     /etc/ssl/comet/fullchain.pem;", "ssl_certificate " + cert.certFile + ";"},
		{"ssl_certificate_key /etc/ssl/comet/privkey.pem;", "ssl_certificate_key " + cert.keyFile + ";"},
	} {
		if n := strings.Count(out, r.old); n != 1 {
			return "", fmt.Errorf("%q appears %d times, want once", r.old, n)
		}
		out = strings.Replace(out, r.old, r.new, 1)
	}
	if strings.Contains(out, "[::]") {
		return "", fmt.Errorf("an IPv6 address is left after rendering")
	}
	return out, nil
}

// mainConf is the nginx.conf around comet.conf: what the main context of a
// Debian install would hold, with its paths in dir. "gzip on" is Debian's
// default, kept so that the streams are tested against it.
func mainConf(dir string) string {
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot write the
		// test's 0700 temporary directory.
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sdaemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 8192;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events {
    worker_connections 4096;
}
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    gzip on;
    include %[2]s/comet.conf;
}
`, user, dir)
}

// proxy is one nginx in front of the nodes.
type proxy struct {
	t       *testing.T
	dir     string
	port    int
	tlsPort int
	cert    selfSigned
	cmd     *exec.Cmd
	exited  chan struct{}
	nodes   []string
}

// URL is http://127.0.0.1:port of the plain listener.
func (p *proxy) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// WS is ws://127.0.0.1:port.
func (p *proxy) WS() string { return "ws://127.0.0.1:" + strconv.Itoa(p.port) }

// HTTPS is https://127.0.0.1:tlsport.
func (p *proxy) HTTPS() string { return "https://127.0.0.1:" + strconv.Itoa(p.tlsPort) }

// WSS is wss://127.0.0.1:tlsport.
func (p *proxy) WSS() string { return "wss://127.0.0.1:" + strconv.Itoa(p.tlsPort) }

// writeConf renders the configuration for p.nodes into p.dir.
func (p *proxy) writeConf() {
	p.t.Helper()
	conf, err := renderConf(shippedConf(p.t), p.nodes, p.port, p.tlsPort, p.cert)
	if err != nil {
		p.t.Fatalf("deploy/nginx/comet.conf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "comet.conf"), []byte(conf), 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "nginx.conf"), []byte(mainConf(p.dir)), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proxy) argv(extra ...string) []string {
	return append([]string{"-p", p.dir, "-e", filepath.Join(p.dir, "error.log"), "-c", filepath.Join(p.dir, "nginx.conf")}, extra...)
}

// startProxy runs nginx with the shipped configuration in front of nodes
// (host:port each) and returns once it answers. It stops when the test
// ends.
func startProxy(t *testing.T, nodes ...string) *proxy {
	t.Helper()
	requireNginx(t)
	dir := t.TempDir()
	p := &proxy{t: t, dir: dir, cert: makeCert(t, dir), nodes: nodes}
	var last error
	for range 5 {
		p.port, p.tlsPort = freePort(t), freePort(t)
		p.writeConf()
		if last = p.start(); last == nil {
			t.Cleanup(p.stop)
			return p
		}
		if !strings.Contains(last.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("nginx: %v", last)
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (p *proxy) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "error.log"))
	return string(b)
}

func (p *proxy) start() error {
	p.cmd = exec.Command(nginxBin, p.argv()...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &logBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = writerFunc(out.line), writerFunc(out.line)
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %s\n%s", out, p.errorLog())
		default:
		}
		// Listening is the only sign nginx gives of being ready.
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.tlsPort), time.Second); err == nil {
			c.Close()
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.port), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("not listening after %s\n%s", startTimeout, p.errorLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writerFunc adapts a line sink to io.Writer (nginx writes whole lines).
type writerFunc func(string)

func (f writerFunc) Write(b []byte) (int, error) {
	f(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// reload rewrites the configuration for nodes and asks nginx to load it
// (SIGHUP): new workers take new connections, old ones finish theirs.
func (p *proxy) reload(nodes ...string) {
	p.t.Helper()
	p.nodes = nodes
	p.writeConf()
	if out, err := exec.Command(nginxBin, p.argv("-t")...).CombinedOutput(); err != nil {
		p.t.Fatalf("nginx -t before reload: %v\n%s", err, out)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		p.t.Fatal(err)
	}
}

// stop ends nginx (SIGTERM: fast shutdown, open WebSockets are cut) and
// its workers.
func (p *proxy) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// TestNginxConfig checks the shipped configuration with nginx -t once its
// ports, nodes and certificate are filled in, and pins the settings the
// cluster depends on, so that neither can rot.
func TestNginxConfig(t *testing.T) {
	t.Parallel()
	requireNginx(t)
	shipped := shippedConf(t)
	dir := t.TempDir()
	p := &proxy{t: t, dir: dir, cert: makeCert(t, dir), nodes: []string{"127.0.0.1:1", "127.0.0.1:2"}}
	p.port, p.tlsPort = freePort(t), freePort(t)
	p.writeConf()
	if out, err := exec.Command(nginxBin, p.argv("-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the rendered deploy/nginx/comet.conf: %v\n%s", err, out)
	}
	rendered, err := os.ReadFile(filepath.Join(dir, "comet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(rendered), "server 127.0.0.1:"); got != 2 {
		t.Errorf("rendered upstream has %d servers, want 2:\n%s", got, rendered)
	}

	// Every silence Comet allows on a live connection (pings and long-poll
	// holds of 25 s, stream heartbeats of 15 s) must be shorter than
	// nginx's read timeout, or nginx cuts healthy connections.
	const longestSilence = 25 * time.Second
	timeouts := regexp.MustCompile(`(?m)^\s*proxy_read_timeout\s+(\d+)s;`).FindAllStringSubmatch(shipped, -1)
	if len(timeouts) == 0 {
		t.Error("no proxy_read_timeout: nginx's default (60 s) would be implicit")
	}
	for _, m := range timeouts {
		if s, _ := strconv.Atoi(m[1]); time.Duration(s)*time.Second <= longestSilence+5*time.Second {
			t.Errorf("proxy_read_timeout %ss is not comfortably above %s", m[1], longestSilence)
		}
	}
	for _, want := range []string{
		"proxy_http_version 1.1;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $comet_connection;",
		"proxy_set_header X-Forwarded-For $remote_addr;",
		"proxy_buffering off;",
		"gzip off;",
		"listen 443 ssl http2;",
		"proxy_next_upstream error timeout http_502 http_503;",
	} {
		if !strings.Contains(shipped, want) {
			t.Errorf("deploy/nginx/comet.conf lacks %q", want)
		}
	}
	// Resending a POST (a publish) after a node received it could store it
	// twice: only idempotent requests may go to the next node.
	directives := stripComments(shipped)
	if strings.Contains(directives, "non_idempotent") {
		t.Error("proxy_next_upstream must not retry non-idempotent requests")
	}
	// proxy_set_header in a location drops every inherited one.
	firstLocation := regexp.MustCompile(`(?m)^\s*location\b`).FindStringIndex(directives)
	if firstLocation == nil {
		t.Fatal("no location")
	}
	if strings.Contains(directives[firstLocation[0]:], "proxy_set_header") {
		t.Error("a location sets its own proxy_set_header: it would drop every inherited one (Upgrade, X-Forwarded-For)")
	}
}
