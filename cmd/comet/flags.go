package main

import (
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/server"
)

// options is what the configuration file, the environment and the command
// line configure.
type options struct {
	server server.Config
	memory memory.Config
	engine engineOptions
	inbox  inboxOptions
	auth   authOptions
	admin  adminOptions

	// Raw forms, turned into the fields above by finish.
	origins, proxies, logLevelText string

	logLevel    slog.Level
	logFormat   string
	configFile  string
	checkConfig string
	showVersion bool

	keys *keySet
}

// newOptions defines every key on a fresh flag set.
func newOptions() *options {
	o := &options{}
	fs := flag.NewFlagSet("comet", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints through usage
	ks := newKeySet(fs)
	o.keys = ks
	c := &o.server

	ks.section("Listener")
	ks.str(&c.Addr, "addr", "127.0.0.1:8080", "public listen address host:port", 0)
	ks.int(&c.Loops, "loops", 0, "event loops (0: one per CPU)", 0)
	ks.str(&o.origins, "allowed-origins", "", "comma-separated Origin values allowed on WebSockets and, with CORS, the HTTP transports (empty: all)", live|list)
	ks.str(&o.proxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes whose X-Forwarded-For is believed", live|list)
	ks.bool(&c.NoWebSocket, "no-websocket", false, "refuse WebSocket upgrades with 503 (test HTTP fallback)", live)
	ks.bool(&c.Echo, "echo", false, "enable the /echo WebSocket endpoint (conformance testing)", live)
	ks.str((*string)(&c.Compression), "ws-compression", "off", "permessage-deflate on WebSockets: off, or on (fewer bytes for more CPU per message; docs/PROTOCOL.md, Compression)", 0)

	ks.section("Backend API")
	ks.str(&c.APIKey, "api-key", "", "key for POST /api/publish (empty: the API answers 401 unless -insecure-api)", live|secret)
	ks.bool(&c.InsecureAPI, "insecure-api", false, "let the publish API answer without a key (local development only)", live)

	ks.section("Limits")
	ks.int(&c.MaxConnections, "max-connections", 0, "connections per node (0: the open file limit less -reserve-files)", live)
	ks.int(&c.ReserveFiles, "reserve-files", 0, "file descriptors the default -max-connections leaves for everything else (0: 64 plus 5% of the limit)", live)
	ks.int(&c.MaxConnsPerIP, "max-conns-per-ip", 0, "connections per client address (0: a sixteenth of -max-connections, at least 64; -1: no cap)", live)
	ks.int(&c.MaxHeaderBytes, "max-header-bytes", 0, "request head cap (0: 8 KiB)", live)
	ks.int(&c.MaxHeaders, "max-headers", 0, "header fields per request (0: 64)", live)
	ks.int(&c.MaxBodyBytes, "max-body-bytes", 0, "request body cap (0: 64 KiB)", live)
	ks.int(&c.MaxMessageBytes, "max-message-bytes", 0, "WebSocket message and payload cap (0: 64 KiB); applies to connections opened after a reload", live)
	ks.int(&c.MaxJSONDepth, "max-json-depth", 0, "nesting of published JSON data (0: 32)", live)
	ks.dur(&c.MessageTimeout, "message-timeout", 0, "time for one WebSocket message to arrive once begun (0: 10s)", live)
	ks.int(&c.MaxOutboundBytes, "max-outbound-bytes", 0, "per-connection queued bytes before a slow client is cut off (0: 1 MiB)", live)
	ks.int(&c.MaxSubscriptions, "max-subscriptions", 0, "channels per connection (0: 128)", live)
	ks.int(&c.PublishRate, "publish-rate", 0, "publishes per second per connection (0: 100; -1: no limit); applies to connections opened after a reload", live)
	ks.int(&c.PublishBurst, "publish-burst", 0, "publish burst per connection (0: 200)", live)

	ks.section("Timers")
	ks.dur(&c.HandshakeTimeout, "handshake-timeout", 0, "request head deadline and keep-alive idle time (0: 10s)", live)
	ks.dur(&c.PingInterval, "ping-interval", 0, "WebSocket ping interval (0: 25s)", live)
	ks.dur(&c.PongTimeout, "pong-timeout", 0, "time allowed for traffic after a ping (0: 10s)", live)
	ks.dur(&c.CloseTimeout, "close-timeout", 0, "wait for a close reply, and lingering of refused connections (0: 2s)", live)
	ks.dur(&c.PollHold, "poll-hold", 0, "longest long-poll hold, and the cap of its wait parameter (0: 25s)", live)
	ks.int(&c.PollBatch, "poll-batch", 0, "messages per poll answer (0: 1000)", live)
	ks.dur(&c.StreamHeartbeat, "stream-heartbeat", 0, "heartbeat interval of SSE, chunked and iframe streams (0: 15s)", live)

	ks.section("Drain")
	ks.dur(&c.DrainDelay, "drain-delay", 0, "on SIGTERM, how long the node stays up unready (refusing new connections) before it closes any client, for load balancers to notice", live)
	ks.dur(&c.DrainWindow, "drain-window", 0, "after the delay, clients are closed spread evenly over this window in a random order (0: all at once)", live)
	ks.dur(&c.DrainTimeout, "drain-timeout", 0, "after the window, the wait for the last clients to go (0: 10s)", live)

	ks.section("Engine")
	e := &o.engine
	ks.str(&e.kind, "engine", "memory", "where channels live: memory (this node only) or redis (a cluster of nodes, docs/REDIS.md)", 0)
	ks.str(&e.redisAddrs, "redis-addrs", "127.0.0.1:6379", "comma-separated Redis host:port (with -redis-cluster: some of the cluster's nodes)", list)
	ks.bool(&e.redisCluster, "redis-cluster", false, "Redis Cluster: channels spread over its masters, sharded pub/sub", 0)
	ks.str(&e.redisUser, "redis-username", "", "Redis ACL user", 0)
	ks.str(&e.redisPassword, "redis-password", "", "Redis password (prefer COMET_REDIS_PASSWORD or the file: flags show in ps)", secret)
	ks.str(&e.redisPrefix, "redis-prefix", "", "prefix of every Redis key and topic (empty: comet:); nodes that share channels share it", 0)
	ks.bool(&e.redisTLS, "redis-tls", false, "connect to Redis with TLS (system roots)", 0)
	ks.int(&o.memory.MaxChannels, "max-channels", 0, "channels with a stream per node, memory engine (0: 1,000,000)", 0)
	ks.int(&c.HistorySize, "history-size", 0, "messages kept per channel for recovery (0: 100, -1: none)", 0)
	ks.dur(&c.HistoryTTL, "history-ttl", 0, "how long history is kept (0: 5m)", 0)
	ks.int(&o.memory.MaxChannelHistoryBytes, "max-channel-history-bytes", 0, "history bytes per channel, memory engine (0: 1 MiB)", 0)
	ks.int64(&o.memory.MaxHistoryBytes, "max-history-bytes", 0, "history bytes per node, oldest evicted first, memory engine (0: 256 MiB)", 0)
	ks.int(&c.Workers, "workers", 0, "goroutines that run engine calls which may block (0: 64)", 0)
	ks.int(&c.WorkQueue, "work-queue", 0, "engine calls waiting for a worker, node-wide; past it 503 (0: 16384)", 0)
	ks.int(&c.MaxInFlight, "max-in-flight", 0, "engine calls one connection may have outstanding (0: 16, at most 255)", 0)
	ks.dur(&c.BrokerTimeout, "broker-timeout", 0, "bound of one engine call (0: 5s)", 0)

	ks.section("Inbox")
	ib := &o.inbox
	ks.str(&ib.mode, "inbox", "auto", "durable per-user inbox for personal channels (docs/INBOX.md): auto (on with the memory engine when data-dir is set and auth is not open), on, off", 0)
	ks.str(&ib.dataDir, "data-dir", "", "directory of the node's durable data (the memory engine's inbox: DATA-DIR/inbox/inbox.db); empty: none", 0)
	ks.str(&ib.durability, "inbox-durability", "group", "when an append is acknowledged, embedded store: always (own fdatasync), group (shared fdatasync, as safe), os (no fdatasync: a machine crash loses up to ~30 s); Redis: as its appendfsync", 0)
	ks.dur(&ib.groupWindow, "inbox-group-window", 0, "how long a group commit waits for more writes (0: none; those queued during the last fdatasync form the group), at most 100ms", 0)
	ks.int(&ib.retention.MaxEntries, "inbox-max-entries", 0, "entries kept per user (0: 10,000; negative: no limit)", 0)
	ks.dur(&ib.retention.MaxAge, "inbox-max-age", 0, "how long an entry is kept (0: 30 days; negative: no limit)", 0)
	ks.int64(&ib.retention.MaxBytes, "inbox-max-bytes", 0, "bytes kept per user (0: 16 MiB; negative: no limit)", 0)
	ks.int(&ib.maxPayload, "inbox-max-payload-bytes", 0, "largest message stored in an inbox (0: 64 KiB)", 0)
	ks.int(&ib.maxDevices, "inbox-max-devices", 0, "devices remembered per user; one more forgets the least recently seen (0: 32)", 0)
	ks.dur(&ib.idemWindow, "inbox-idempotency-window", 0, "how long an idempotency key is remembered (0: 10m)", 0)

	ks.section("Identity")
	a := &o.auth
	ks.str(&a.mode, "auth", "", "how clients are known: open (no identity), jwt, hook or demo (tokens for any name at /demo/token); required", 0)
	ks.str(&a.jwtSecret, "jwt-secret", "", "HMAC secret of connection tokens (HS256, at least 32 bytes); with auth demo it signs the demo's tokens too, so the nodes of a demo cluster accept each other's", live|secret)
	ks.str(&a.jwtPublicKey, "jwt-public-key", "", "PEM file of the public key of connection tokens (RS256, ES256, EdDSA); read again on reload", live)
	ks.str(&a.jwtJWKS, "jwt-jwks", "", "JSON Web Key Set file of token keys; read again on reload", live)
	ks.str(&a.jwtAlgs, "jwt-algorithms", "", "comma-separated allowed JWS algorithms (empty: the keys' own)", live|list)
	ks.str(&a.jwtIssuer, "jwt-issuer", "", "required iss of tokens", live)
	ks.str(&a.jwtAudience, "jwt-audience", "", "required aud of tokens", live)
	ks.str(&a.tokenCookie, "token-cookie", "", "name of a cookie that may carry the connection token", live)
	ks.str(&a.hookURL, "auth-hook-url", "", "backend URL that authenticates clients by their cookies (-auth hook)", 0)
	ks.str(&a.hookCookies, "auth-hook-cookies", "", "comma-separated cookies forwarded to the hook", list)
	ks.str(&a.hookHeaders, "auth-hook-headers", "", "comma-separated headers forwarded to the hook", list)
	ks.dur(&a.hookCacheTTL, "auth-hook-cache", 0, "how long a hook answer is reused for the same session (0: not at all)", 0)
	ks.bool(&a.anonymous, "anonymous", false, "accept clients without credentials, where a namespace allows them", live)
	ks.str(&a.policyFile, "policy", "", "JSON file of namespaces (docs/AUTH.md), read again on reload; default: room:, public:, user:", live)
	ks.str(&a.webhookURL, "presence-webhook", "", "URL told when a user comes online or goes offline", 0)
	ks.str(&a.webhookKey, "presence-webhook-secret", "", "HMAC key that signs presence webhook requests", secret)
	ks.dur(&c.PresenceTTL, "presence-ttl", 0, "how long a presence entry lives unrefreshed; long-pollers count as present while they poll within it (0: 60s)", 0)

	ks.section("Admin listener")
	ad := &o.admin
	ks.str(&ad.addr, "admin-addr", "", "admin listener host:port: /metrics, /healthz, /readyz, /debug/pprof/, /dashboard (empty: none)", 0)
	ks.str(&ad.token, "admin-token", "", "token the admin listener requires (Bearer, or Basic password), at least 16 bytes; required off loopback", live|secret)
	ks.str(&ad.dashboard, "admin-dashboard", "auto", "the dashboard's live feed: auto (on with identity, off with -auth open), on, off", 0)
	ks.str(&ad.publicURL, "admin-public-url", "", "base URL at which the dashboard's browser reaches the public port (empty: http:// and -addr)", 0)
	ks.dur(&ad.feedInterval, "admin-feed-interval", time.Second, "how often the node publishes its stats to the dashboard's channel", 0)

	ks.section("Logging")
	ks.str(&o.logLevelText, "log-level", "info", "debug (one line per connection event), info, warn or error", live)
	ks.str(&o.logFormat, "log-format", "text", "text or json", 0)

	ks.section("Command line")
	ks.str(&o.configFile, "config", "", "YAML configuration file (docs/CONFIG.md); the environment and flags override it", cliOnly)
	ks.str(&o.checkConfig, "check-config", "", "validate this configuration file with the environment and flags, print the effective configuration (secrets redacted) and exit", cliOnly|noEnv)
	ks.bool(&o.showVersion, "version", false, "print the version and exit", cliOnly|noEnv)
	return o
}
