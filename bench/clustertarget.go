package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

//go:embed peers/proxy.conf.tmpl
var proxyConf string

//go:embed peers/proxy-peer.conf.tmpl
var proxyPeerConf string

// The cluster targets: two (ClusterOptions.Nodes) server processes on one
// Redis behind nginx, for Comet, Centrifugo and nchan alike.

// ClusterOptions are the knobs of the cluster targets
// (TargetOptions.Cluster).
type ClusterOptions struct {
	Nodes int // server processes, default 2
	// RedisFsync is Redis's appendfsync ("always", "everysec"), or "" for
	// no append-only file.
	RedisFsync string
	RedisBin   string
	// CometNginxConf is the shipped deploy/nginx/comet.conf, which the
	// Comet cluster runs behind (rendered with this run's ports).
	CometNginxConf string
}

func (o ClusterOptions) nodes() int { return max(o.Nodes, 1) }

// proxyWorkers is nginx's worker count: o.Workers, else the CPUs available.
func proxyWorkers(o TargetOptions) int {
	if o.Workers > 0 {
		return o.Workers
	}
	if o.CPUs != "" {
		return len(strings.Split(o.CPUs, ","))
	}
	return runtime.NumCPU()
}

// proxyProcess is nginx running main (with {{http}} already filled in).
func proxyProcess(label string, proto Proto, key string, o TargetOptions, http string, files map[string]string) *Process {
	conf := strings.NewReplacer("{{workers}}", itoa(proxyWorkers(o)), "{{http}}", http).Replace(proxyConf)
	all := map[string]string{"nginx.conf": conf}
	for k, v := range files {
		all[k] = v
	}
	return &Process{Label: label, Proto: proto, Key: key, CPUs: o.CPUs, Files: all, HTTPTransports: proto == ProtoComet, SubInURL: proto == ProtoComet && !o.CometSubMessage,
		Args: func(_ int, dir string) []string {
			return []string{o.NginxBin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", filepath.Join(dir, "nginx.conf")}
		}}
}

// peerProxy is the peers' proxy in front of nodes.
func peerProxy(label string, proto Proto, key string, o TargetOptions, nodes []string) *Process {
	var up strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&up, "    server %s max_fails=1 fail_timeout=3s;\n", n)
	}
	http := strings.ReplaceAll(proxyPeerConf, "{{upstream}}", strings.TrimRight(up.String(), "\n"))
	return proxyProcess(label, proto, key, o, http, nil)
}

var (
	shippedServer = regexp.MustCompile(`(?m)^([ \t]*)server[ \t]+127\.0\.0\.1:\d+([^;\n]*);[ \t]*\n`)
	shippedIPv6   = regexp.MustCompile(`(?m)^[ \t]*listen[ \t]+\[::\][^;\n]*;[ \t]*\n`)
)

// RenderCometConf turns the shipped deploy/nginx/comet.conf into this
// run's: the upstream lists nodes (with the shipped lines' parameters), the
// plain listener is 127.0.0.1:{{port}} with reuseport (so that every
// worker takes its share of 10,000 connections), TLS listens on tlsPort
// with the certificate in {{dir}}, and the IPv6 listens are dropped. Every
// substitution must find what it expects, so a reshaped config fails here
// rather than being measured half-rendered. test/cluster and
// scripts/cluster.sh make the same substitutions.
func RenderCometConf(shipped string, nodes []string, tlsPort int) (string, error) {
	servers := shippedServer.FindAllStringSubmatchIndex(shipped, -1)
	if len(servers) == 0 {
		return "", fmt.Errorf("bench: comet.conf: no upstream \"server 127.0.0.1:PORT ...;\" line")
	}
	indent, params := shipped[servers[0][2]:servers[0][3]], shipped[servers[0][4]:servers[0][5]]
	var b strings.Builder
	b.WriteString(shipped[:servers[0][0]])
	for _, n := range nodes {
		fmt.Fprintf(&b, "%sserver %s%s;\n", indent, n, params)
	}
	prev := servers[0][1]
	for _, s := range servers[1:] {
		b.WriteString(shipped[prev:s[0]])
		prev = s[1]
	}
	b.WriteString(shipped[prev:])
	out := shippedIPv6.ReplaceAllString(b.String(), "")
	for _, r := range [][2]string{
		{"listen 80;", "listen 127.0.0.1:{{port}} reuseport backlog=4096;"},
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", tlsPort)},
		{"ssl_certificate     /etc/ssl/comet/fullchain.pem;", "ssl_certificate {{dir}}/tls.crt;"},
		{"ssl_certificate_key /etc/ssl/comet/privkey.pem;", "ssl_certificate_key {{dir}}/tls.key;"},
	} {
		if n := strings.Count(out, r[0]); n != 1 {
			return "", fmt.Errorf("bench: comet.conf: %q appears %d times, want once", r[0], n)
		}
		out = strings.Replace(out, r[0], r[1], 1)
	}
	return out, nil
}

// selfSignedPEM returns a certificate and key for 127.0.0.1, valid a day.
func selfSignedPEM() (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "cometbench"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
}

// CometClusterTarget runs c.Nodes comet nodes (-engine redis) on one Redis
// behind nginx with the shipped deploy/nginx/comet.conf.
func CometClusterTarget(o TargetOptions) *Cluster {
	c := o.Cluster
	return &Cluster{Label: "comet-cluster", Proto: ProtoComet, HTTPTransports: true, Nodes: c.nodes(),
		Redis: RedisServer{Bin: c.RedisBin, Fsync: c.RedisFsync, CPUs: o.CPUs},
		Node: func(i int, redis string) *Process {
			n := CometTarget(o)
			n.Label = fmt.Sprintf("comet-node%d", i+1)
			args := n.Args
			n.Args = func(port int, dir string) []string {
				return append(args(port, dir), "-engine", "redis", "-redis-addrs", redis, "-trusted-proxies", "127.0.0.1")
			}
			return n
		},
		Proxy: func(nodes []string) (*Process, error) {
			shipped, err := os.ReadFile(c.CometNginxConf)
			if err != nil {
				return nil, fmt.Errorf("bench: the shipped nginx config: %w", err)
			}
			tlsPort, err := freePort()
			if err != nil {
				return nil, err
			}
			http, err := RenderCometConf(string(shipped), nodes, tlsPort)
			if err != nil {
				return nil, err
			}
			cert, key, err := selfSignedPEM()
			if err != nil {
				return nil, err
			}
			return proxyProcess("comet-proxy", ProtoComet, o.APIKey, o, http,
				map[string]string{"tls.crt": string(cert), "tls.key": string(key)}), nil
		}}
}

// CentrifugoClusterTarget runs c.Nodes Centrifugo v5 nodes on its Redis
// engine ("engine": "redis": history in streams, PUB/SUB between nodes)
// behind nginx.
func CentrifugoClusterTarget(o TargetOptions) *Cluster {
	c := o.Cluster
	return &Cluster{Label: "centrifugo-cluster", Proto: ProtoCentrifugo, Nodes: c.nodes(),
		Redis: RedisServer{Bin: c.RedisBin, Fsync: c.RedisFsync, CPUs: o.CPUs},
		Node: func(i int, redis string) *Process {
			n := CentrifugoTarget(o)
			n.Label = fmt.Sprintf("centrifugo-node%d", i+1)
			conf := n.Files["config.json"]
			n.Files = map[string]string{"config.json": strings.Replace(conf, "{",
				fmt.Sprintf("{\n  \"engine\": \"redis\",\n  \"redis_address\": \"redis://%s\",", redis), 1)}
			return n
		},
		Proxy: func(nodes []string) (*Process, error) {
			return peerProxy("centrifugo-proxy", ProtoCentrifugo, o.APIKey, o, nodes), nil
		}}
}

// NchanClusterTarget runs c.Nodes nginx+nchan servers storing and relaying
// their messages through one Redis (nchan_redis_pass), behind a proxy
// nginx.
func NchanClusterTarget(o TargetOptions) *Cluster {
	c := o.Cluster
	return &Cluster{Label: "nchan-cluster", Proto: ProtoNchan, Nodes: c.nodes(),
		Redis: RedisServer{Bin: c.RedisBin, Fsync: c.RedisFsync, CPUs: o.CPUs},
		Node: func(i int, redis string) *Process {
			n := NchanTarget(o)
			n.Label = fmt.Sprintf("nchan-node%d", i+1)
			conf := n.Files["nginx.conf"]
			conf = strings.Replace(conf, "http {\n", "http {\n    upstream bench_redis {\n        nchan_redis_server redis://"+redis+";\n    }\n", 1)
			conf = strings.ReplaceAll(conf, "nchan_channel_id $1;\n", "nchan_channel_id $1;\n            nchan_redis_pass bench_redis;\n")
			n.Files = map[string]string{"nginx.conf": conf}
			return n
		},
		Proxy: func(nodes []string) (*Process, error) {
			return peerProxy("nchan-proxy", ProtoNchan, "", o, nodes), nil
		}}
}
