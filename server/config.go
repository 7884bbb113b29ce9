package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
)

// Config configures a Server. The zero value of every field means its
// documented default, except Broker, which the caller must provide.
type Config struct {
	// Addr is the host:port to listen on; default "127.0.0.1:8080". Port 0
	// picks a free port (Server.Addr reports it).
	Addr string
	// Loops is the number of event loops; default runtime.NumCPU(), at
	// most 64.
	Loops int

	// Broker is the engine: positions, history, delivery across nodes.
	// Required; cmd/comet wires broker/memory or broker/redis.
	Broker broker.Broker
	// Presence tracks who is present in channels; nil keeps none.
	Presence broker.Presence
	// Inbox, when set, is the users' durable logs (docs/INBOX.md): the
	// node serves devices' acknowledgements, read markers, unread counts
	// and the inbox API from it. Broker must then serve personal channels
	// from the same store (inbox/personal); cmd/comet wires both.
	Inbox inbox.Store
	// Ready, when set, tells whether the engines answer (broker/redis's
	// Ready); it is asked once a second, off the loops, and /healthz
	// answers 503 while it fails.
	Ready func(context.Context) error
	// Workers is the number of goroutines that run engine calls which may
	// block (a broker that is not broker.Inline); default 64.
	Workers int
	// WorkQueue bounds the engine calls waiting for a worker, node-wide;
	// default 16,384. A call that finds it full is refused with 503.
	WorkQueue int
	// MaxInFlight bounds the engine calls one connection may have
	// outstanding; default 16. Past it the connection's input waits.
	MaxInFlight int
	// BrokerTimeout bounds one engine call; default 5 s.
	BrokerTimeout time.Duration
	// InterestLinger is how long the node keeps its subscription to a
	// channel after its last local subscriber left, so that long-pollers
	// coming back do not make it subscribe again each time; default 10 s.
	InterestLinger time.Duration

	// Auth says how clients are authenticated and what they may do; the
	// zero value is an open node (every client anonymous, allowed
	// everything).
	Auth AuthConfig
	// PresenceTTL is how long a presence entry lives without a refresh:
	// a connection refreshes its entries every third of it, a long-poller
	// counts as present while it polls within it; default 60 s.
	PresenceTTL time.Duration

	// APIKey guards the backend API (POST /api/publish), given as
	// "Authorization: Bearer KEY" or "X-API-Key: KEY". Without a key the
	// API answers 401, unless InsecureAPI is set.
	APIKey string
	// InsecureAPI lets the backend API answer without a key. For local
	// development only: behind a reverse proxy every client looks local.
	InsecureAPI bool
	// AllowedOrigins lists the Origin values accepted on WebSocket
	// upgrades and served with CORS; empty allows all. "*" in the list
	// also allows all.
	AllowedOrigins []string
	// TrustedProxies lists the networks whose X-Forwarded-For header is
	// believed; empty trusts none, so the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// NoWebSocket makes /ws refuse upgrades with 503, as a proxy that
	// cannot carry WebSockets would: clients must fall back to HTTP.
	NoWebSocket bool
	// Echo enables GET /echo, a WebSocket endpoint that sends every message
	// back unchanged (for conformance suites).
	Echo bool
	// Compression says whether WebSocket upgrades accept permessage-deflate
	// (RFC 7692, docs/PROTOCOL.md "Compression"); empty means
	// CompressionOff. Fixed at start: a reload does not change it.
	Compression Compression

	// MaxConnections caps the connections of the node; past it a new
	// connection is answered 503 and closed. Default: the process's open
	// file limit less a reserve for everything else (ReserveFiles).
	MaxConnections int
	// ReserveFiles is how many file descriptors the default
	// MaxConnections leaves for listeners, logs, engines and stores;
	// default 64 plus 5% of the limit.
	ReserveFiles int
	// MaxConnsPerIP caps the connections of one client address (trusted
	// proxies are exempt: they carry many clients); default a sixteenth
	// of MaxConnections, at least 64. Negative: no cap.
	MaxConnsPerIP int

	// MaxHeaderBytes caps an HTTP request head; default 8 KiB (431 past it).
	MaxHeaderBytes int
	// MaxHeaders caps the number of header fields; default 64 (431).
	MaxHeaders int
	// MaxBodyBytes caps an HTTP request body; default 64 KiB (413).
	MaxBodyBytes int
	// MaxMessageBytes caps a WebSocket message after reassembly, and a
	// published payload; default 64 KiB (close 1009).
	MaxMessageBytes int
	// MaxJSONDepth caps the nesting of published data; default 32.
	MaxJSONDepth int
	// MessageTimeout bounds how long one WebSocket message may take to
	// arrive once its first byte has; default 10 s (close 4003).
	MessageTimeout time.Duration
	// MaxOutboundBytes is the per-connection budget of bytes queued for a
	// client that does not read: every reply, replay and delivery counts.
	// Past it the connection is closed with 4001 (WebSocket) or ended
	// (HTTP). Default 1 MiB.
	MaxOutboundBytes int
	// MaxSubscriptions caps the channels one connection may join; default 128.
	MaxSubscriptions int
	// PublishRate and PublishBurst bound one connection's publishes: a
	// token bucket of PublishBurst tokens refilled at PublishRate per
	// second; defaults 100 and 200. Past it a publish gets 429. Negative
	// PublishRate: no limit.
	PublishRate  int
	PublishBurst int

	// HistorySize is how many messages a WebSocket subscribe replays at
	// most; default 100. Negative: none. (The engine keeps its own
	// history bounds; keep the two equal.)
	HistorySize int
	// HistoryTTL is the shortest time the engine keeps a channel's stream
	// after its last publication; default 5 minutes. The recovery rule
	// relies on it (protocol.Recover).
	HistoryTTL time.Duration

	// HandshakeTimeout bounds how long a request head (and body) may take
	// to arrive, and how long an idle keep-alive connection is kept;
	// default 10 s.
	HandshakeTimeout time.Duration
	// PingInterval is how often a WebSocket is pinged; default 25 s, below
	// the 60 s idle timeout of nginx and most load balancers.
	PingInterval time.Duration
	// PongTimeout is how long after a ping some traffic must arrive before
	// the connection is closed with 4002; default 10 s.
	PongTimeout time.Duration
	// CloseTimeout bounds the wait for the client's reply to a close
	// frame, and how long a refused connection keeps reading before it is
	// closed (lingering close); default 2 s.
	CloseTimeout time.Duration
	// DrainDelay is how long a draining node stays up, unready and
	// refusing new connections, before it closes any client, so that load
	// balancers that poll /healthz stop sending it clients; default 0.
	DrainDelay time.Duration
	// DrainWindow spreads the closing of clients on Shutdown evenly over
	// this long, in a random order, so that they reconnect to other nodes
	// gradually; 0 closes them all at once.
	DrainWindow time.Duration
	// DrainTimeout bounds the wait, after the window, for the last clients
	// to go; default 10 s.
	DrainTimeout time.Duration
	// PollHold is how long a long-poll may be parked, and the cap of its
	// wait parameter; default 25 s.
	PollHold time.Duration
	// PollBatch caps the messages in one poll answer; default 1,000.
	PollBatch int
	// StreamHeartbeat is how often an idle SSE, chunked or iframe stream
	// gets a heartbeat; default 15 s.
	StreamHeartbeat time.Duration
	// Tick is the timer wheel resolution; default 100 ms.
	Tick time.Duration

	// Now is the clock; nil means time.Now. Tests move it by hand.
	Now func() time.Time
	// Logger receives lifecycle and error logs; nil means slog.Default().
	Logger *slog.Logger
}

const maxLoops = 64 // a channel's interest tracks its loops in a uint64 mask

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	def(&c.Loops, min(runtime.NumCPU(), maxLoops))
	def(&c.Workers, 64)
	def(&c.WorkQueue, 16384)
	def(&c.MaxInFlight, 16)
	defDur(&c.BrokerTimeout, 5*time.Second)
	defDur(&c.InterestLinger, 10*time.Second)
	defDur(&c.PresenceTTL, time.Minute)
	if c.MaxConnections == 0 {
		c.MaxConnections = defaultMaxConnections(c.ReserveFiles)
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = max(64, c.MaxConnections/16)
	}
	def(&c.MaxHeaderBytes, 8<<10)
	def(&c.MaxHeaders, 64)
	def(&c.MaxBodyBytes, 64<<10)
	def(&c.MaxMessageBytes, 64<<10)
	def(&c.MaxJSONDepth, 32)
	defDur(&c.MessageTimeout, 10*time.Second)
	def(&c.MaxOutboundBytes, 1<<20)
	def(&c.MaxSubscriptions, 128)
	def(&c.PublishRate, 100)
	def(&c.PublishBurst, 200)
	def(&c.HistorySize, 100)
	defDur(&c.HistoryTTL, 5*time.Minute)
	defDur(&c.HandshakeTimeout, 10*time.Second)
	defDur(&c.PingInterval, 25*time.Second)
	defDur(&c.PongTimeout, 10*time.Second)
	defDur(&c.CloseTimeout, 2*time.Second)
	defDur(&c.DrainTimeout, 10*time.Second)
	defDur(&c.PollHold, 25*time.Second)
	def(&c.PollBatch, 1000)
	defDur(&c.StreamHeartbeat, 15*time.Second)
	defDur(&c.Tick, 100*time.Millisecond)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every invalid setting, after defaults are applied.
func (c Config) Validate() error {
	var errs []error
	if c.Broker == nil {
		errs = append(errs, errors.New("broker is required"))
	}
	c = c.withDefaults()
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if c.Loops < 1 || c.Loops > maxLoops {
		errs = append(errs, fmt.Errorf("loops must be 1..%d, got %d", maxLoops, c.Loops))
	}
	for _, v := range []struct {
		name string
		v    int
	}{
		{"workers", c.Workers}, {"work queue", c.WorkQueue}, {"max in flight", c.MaxInFlight},
		{"max connections", c.MaxConnections}, {"reserve files", c.ReserveFiles},
		{"max header bytes", c.MaxHeaderBytes}, {"max headers", c.MaxHeaders},
		{"max body bytes", c.MaxBodyBytes}, {"max message bytes", c.MaxMessageBytes},
		{"max json depth", c.MaxJSONDepth}, {"max outbound bytes", c.MaxOutboundBytes},
		{"max subscriptions", c.MaxSubscriptions}, {"publish burst", c.PublishBurst},
		{"poll batch", c.PollBatch},
	} {
		if v.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", v.name, v.v))
		}
	}
	if c.MaxMessageBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("max message bytes must be at most 16 MiB, got %d", c.MaxMessageBytes))
	}
	if c.MaxInFlight > 255 {
		errs = append(errs, fmt.Errorf("max in flight must be at most 255, got %d", c.MaxInFlight))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"broker timeout", c.BrokerTimeout}, {"interest linger", c.InterestLinger},
		{"message timeout", c.MessageTimeout},
		{"history ttl", c.HistoryTTL}, {"handshake timeout", c.HandshakeTimeout},
		{"ping interval", c.PingInterval}, {"pong timeout", c.PongTimeout},
		{"close timeout", c.CloseTimeout}, {"drain timeout", c.DrainTimeout}, {"tick", c.Tick},
		{"drain delay", c.DrainDelay}, {"drain window", c.DrainWindow},
		{"poll hold", c.PollHold}, {"stream heartbeat", c.StreamHeartbeat},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.d))
		}
	}
	switch c.Compression {
	case "", CompressionOff, CompressionOn:
	default:
		errs = append(errs, fmt.Errorf("compression %q: want off or on", string(c.Compression)))
	}
	if c.Tick > time.Second {
		errs = append(errs, fmt.Errorf("tick must be at most 1s, got %s", c.Tick))
	}
	return errors.Join(errs...)
}

// ticks converts a duration to wheel ticks, rounded up and plus one: a
// timer scheduled in the middle of a tick must not fire before d has
// passed (a poll held for wait=1 is held at least a second).
func (c *Config) ticks(d time.Duration) int64 {
	return int64((d+c.Tick-1)/c.Tick) + 1
}
