package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/server"
)

// options is what the command line and the environment configure.
type options struct {
	server      server.Config
	memory      memory.Config
	engine      engineOptions
	auth        authOptions
	logLevel    slog.Level
	showVersion bool
}

// parseFlags reads args, then COMET_* variables for the flags not given.
func parseFlags(args []string, lookup func(string) (string, bool)) (*options, error) {
	o := &options{}
	c := &o.server
	var origins, proxies, logLevel string
	fs := flag.NewFlagSet("comet", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address host:port")
	fs.IntVar(&c.Loops, "loops", 0, "event loops (0: one per CPU)")
	fs.StringVar(&c.APIKey, "api-key", "", "key for POST /api/publish (empty: the API answers 401 unless -insecure-api)")
	fs.BoolVar(&c.InsecureAPI, "insecure-api", false, "let the publish API answer without a key (local development only)")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated Origin values allowed on WebSockets and, with CORS, the HTTP transports (empty: all)")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes whose X-Forwarded-For is believed")
	fs.BoolVar(&c.NoWebSocket, "no-websocket", false, "refuse WebSocket upgrades with 503 (test HTTP fallback)")
	fs.BoolVar(&c.Echo, "echo", false, "enable the /echo WebSocket endpoint (conformance testing)")
	fs.IntVar(&c.MaxConnections, "max-connections", 0, "connections per node (0: the open file limit less a reserve)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 0, "connections per client address (0: a sixteenth of -max-connections, at least 64; -1: no cap)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", 0, "request head cap (0: 8 KiB)")
	fs.IntVar(&c.MaxBodyBytes, "max-body-bytes", 0, "request body cap (0: 64 KiB)")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", 0, "WebSocket message and payload cap (0: 64 KiB)")
	fs.IntVar(&c.MaxJSONDepth, "max-json-depth", 0, "nesting of published JSON data (0: 32)")
	fs.DurationVar(&c.MessageTimeout, "message-timeout", 0, "time for one WebSocket message to arrive once begun (0: 10s)")
	fs.IntVar(&c.MaxOutboundBytes, "max-outbound-bytes", 0, "per-connection queued bytes before a slow client is cut off (0: 1 MiB)")
	fs.IntVar(&c.MaxSubscriptions, "max-subscriptions", 0, "channels per connection (0: 128)")
	fs.IntVar(&c.PublishRate, "publish-rate", 0, "publishes per second per connection (0: 100; -1: no limit)")
	fs.IntVar(&c.PublishBurst, "publish-burst", 0, "publish burst per connection (0: 200)")
	fs.StringVar(&o.engine.kind, "engine", "memory", "where channels live: memory (this node only) or redis (a cluster of nodes, docs/REDIS.md)")
	fs.StringVar(&o.engine.redisAddrs, "redis-addrs", "127.0.0.1:6379", "comma-separated Redis host:port (with -redis-cluster: some of the cluster's nodes)")
	fs.BoolVar(&o.engine.redisCluster, "redis-cluster", false, "Redis Cluster: channels spread over its masters, sharded pub/sub")
	fs.StringVar(&o.engine.redisUser, "redis-username", "", "Redis ACL user")
	fs.StringVar(&o.engine.redisPassword, "redis-password", "", "Redis password (prefer COMET_REDIS_PASSWORD: flags show in ps)")
	fs.StringVar(&o.engine.redisPrefix, "redis-prefix", "", "prefix of every Redis key and topic (empty: comet:); nodes that share channels share it")
	fs.BoolVar(&o.engine.redisTLS, "redis-tls", false, "connect to Redis with TLS (system roots)")
	fs.IntVar(&o.memory.MaxChannels, "max-channels", 0, "channels with a stream per node (0: 1,000,000)")
	fs.IntVar(&c.HistorySize, "history-size", 0, "messages kept per channel for recovery (0: 100, -1: none)")
	fs.DurationVar(&c.HistoryTTL, "history-ttl", 0, "how long history is kept (0: 5m)")
	fs.IntVar(&o.memory.MaxChannelHistoryBytes, "max-channel-history-bytes", 0, "history bytes per channel (0: 1 MiB)")
	fs.Int64Var(&o.memory.MaxHistoryBytes, "max-history-bytes", 0, "history bytes per node, oldest evicted first (0: 256 MiB)")
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", 0, "request head deadline and keep-alive idle time (0: 10s)")
	fs.DurationVar(&c.PingInterval, "ping-interval", 0, "WebSocket ping interval (0: 25s)")
	fs.DurationVar(&c.PongTimeout, "pong-timeout", 0, "time allowed for traffic after a ping (0: 10s)")
	fs.DurationVar(&c.PollHold, "poll-hold", 0, "longest long-poll hold, and the cap of its wait parameter (0: 25s)")
	fs.IntVar(&c.PollBatch, "poll-batch", 0, "messages per poll answer (0: 1000)")
	fs.DurationVar(&c.StreamHeartbeat, "stream-heartbeat", 0, "heartbeat interval of SSE, chunked and iframe streams (0: 15s)")
	fs.DurationVar(&c.CloseTimeout, "close-timeout", 0, "wait for a close reply, and lingering of refused connections (0: 2s)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 0, "graceful shutdown deadline (0: 10s)")
	a := &o.auth
	fs.StringVar(&a.mode, "auth", "", "how clients are known: open (no identity), jwt, hook or demo (tokens for any name at /demo/token)")
	fs.StringVar(&a.jwtSecret, "jwt-secret", "", "HMAC secret of connection tokens (HS256, at least 32 bytes)")
	fs.StringVar(&a.jwtPublicKey, "jwt-public-key", "", "PEM file of the public key of connection tokens (RS256, ES256, EdDSA)")
	fs.StringVar(&a.jwtJWKS, "jwt-jwks", "", "JSON Web Key Set file of token keys")
	fs.StringVar(&a.jwtAlgs, "jwt-algorithms", "", "comma-separated allowed JWS algorithms (empty: the keys' own)")
	fs.StringVar(&a.jwtIssuer, "jwt-issuer", "", "required iss of tokens")
	fs.StringVar(&a.jwtAudience, "jwt-audience", "", "required aud of tokens")
	fs.StringVar(&a.tokenCookie, "token-cookie", "", "name of a cookie that may carry the connection token")
	fs.StringVar(&a.hookURL, "auth-hook-url", "", "backend URL that authenticates clients by their cookies (-auth hook)")
	fs.StringVar(&a.hookCookies, "auth-hook-cookies", "", "comma-separated cookies forwarded to the hook")
	fs.StringVar(&a.hookHeaders, "auth-hook-headers", "", "comma-separated headers forwarded to the hook")
	fs.DurationVar(&a.hookCacheTTL, "auth-hook-cache", 0, "how long a hook answer is reused for the same session (0: not at all)")
	fs.BoolVar(&a.anonymous, "anonymous", false, "accept clients without credentials, where a namespace allows them")
	fs.StringVar(&a.policyFile, "policy", "", "JSON file of namespaces (docs/AUTH.md); default: room:, public:, user:")
	fs.StringVar(&a.webhookURL, "presence-webhook", "", "URL told when a user comes online or goes offline")
	fs.StringVar(&a.webhookKey, "presence-webhook-secret", "", "HMAC key that signs presence webhook requests")
	fs.DurationVar(&c.PresenceTTL, "presence-ttl", 0, "how long a presence entry lives unrefreshed; long-pollers count as present while they poll within it (0: 60s)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := applyEnv(fs, lookup); err != nil {
		return nil, err
	}
	if origins != "" {
		c.AllowedOrigins = strings.Split(origins, ",")
	}
	for _, p := range splitList(proxies) {
		prefix, err := parsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	// The engine keeps what the node replays.
	o.memory.HistorySize, o.memory.HistoryTTL = c.HistorySize, c.HistoryTTL
	return o, nil
}

// parsePrefix reads a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyEnv sets every flag not given on the command line from its
// COMET_<NAME> environment variable.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "COMET_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookup(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}
