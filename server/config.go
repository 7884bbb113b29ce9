package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"
)

// Config configures a Server. The zero value of every field means its
// documented default, so Config{} is a working development server.
type Config struct {
	// Addr is the host:port to listen on; default "127.0.0.1:8080". Port 0
	// picks a free port (Server.Addr reports it).
	Addr string
	// Loops is the number of event loops; default runtime.NumCPU(), at
	// most 64.
	Loops int
	// APIKey guards the backend API (POST /api/publish). Empty means the
	// API answers only clients on loopback addresses.
	APIKey string
	// AllowedOrigins lists the Origin values accepted on WebSocket
	// upgrades; empty allows all. "*" in the list also allows all.
	AllowedOrigins []string
	// NoWebSocket makes /ws refuse upgrades with 503, as a proxy that
	// cannot carry WebSockets would: clients must fall back to HTTP.
	NoWebSocket bool
	// Echo enables GET /echo, a WebSocket endpoint that sends every message
	// back unchanged (for conformance suites).
	Echo bool

	// MaxHeaderBytes caps an HTTP request head; default 8 KiB (431 past it).
	MaxHeaderBytes int
	// MaxHeaders caps the number of header fields; default 64 (431).
	MaxHeaders int
	// MaxBodyBytes caps an HTTP request body; default 64 KiB (413).
	MaxBodyBytes int
	// MaxMessageBytes caps a WebSocket message after reassembly, and a
	// published payload; default 64 KiB (close 1009).
	MaxMessageBytes int
	// MaxOutboundBytes is the per-connection budget of bytes queued for a
	// client that does not read; past it the connection is closed with
	// 4001. Default 1 MiB.
	MaxOutboundBytes int
	// MaxSubscriptions caps the channels one connection may join; default 128.
	MaxSubscriptions int
	// MaxChannels caps the channels the node keeps; default 1,000,000.
	MaxChannels int

	// HistorySize is how many messages each channel keeps for recovery;
	// default 100. Negative disables history.
	HistorySize int
	// HistoryTTL is how long a message stays in history; default 5 minutes.
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
	// frame; default 2 s.
	CloseTimeout time.Duration
	// DrainTimeout bounds Shutdown; default 10 s.
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

	// Logger receives lifecycle and error logs; nil means slog.Default().
	Logger *slog.Logger
}

const maxLoops = 64 // a channel tracks its loops in a uint64 mask

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
	def(&c.MaxHeaderBytes, 8<<10)
	def(&c.MaxHeaders, 64)
	def(&c.MaxBodyBytes, 64<<10)
	def(&c.MaxMessageBytes, 64<<10)
	def(&c.MaxOutboundBytes, 1<<20)
	def(&c.MaxSubscriptions, 128)
	def(&c.MaxChannels, 1_000_000)
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid setting, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if c.Loops < 1 || c.Loops > maxLoops {
		errs = append(errs, fmt.Errorf("loops must be 1..%d, got %d", maxLoops, c.Loops))
	}
	for name, v := range map[string]int{
		"max header bytes": c.MaxHeaderBytes, "max headers": c.MaxHeaders,
		"max body bytes": c.MaxBodyBytes, "max message bytes": c.MaxMessageBytes,
		"max outbound bytes": c.MaxOutboundBytes, "max subscriptions": c.MaxSubscriptions,
		"max channels": c.MaxChannels, "poll batch": c.PollBatch,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", name, v))
		}
	}
	if c.MaxMessageBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("max message bytes must be at most 16 MiB, got %d", c.MaxMessageBytes))
	}
	for name, d := range map[string]time.Duration{
		"history ttl": c.HistoryTTL, "handshake timeout": c.HandshakeTimeout,
		"ping interval": c.PingInterval, "pong timeout": c.PongTimeout,
		"close timeout": c.CloseTimeout, "drain timeout": c.DrainTimeout, "tick": c.Tick,
		"poll hold": c.PollHold, "stream heartbeat": c.StreamHeartbeat,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", name, d))
		}
	}
	if c.Tick > time.Second {
		errs = append(errs, fmt.Errorf("tick must be at most 1s, got %s", c.Tick))
	}
	return errors.Join(errs...)
}

// ticks converts a duration to wheel ticks, at least one.
func (c *Config) ticks(d time.Duration) int64 {
	t := int64(d / c.Tick)
	if t < 1 {
		t = 1
	}
	return t
}
