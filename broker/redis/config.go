package redis

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Config configures the Redis engine. The zero value of every field means
// its documented default, so Config{} talks to a local Redis on 6379.
type Config struct {
	// Addrs are the Redis server's "host:port" (one address), or, with
	// Cluster, some of the cluster's nodes to learn the others from;
	// default ["127.0.0.1:6379"].
	Addrs []string
	// Cluster selects Redis Cluster: keys spread over the slots of every
	// master, pub/sub is sharded (SSUBSCRIBE/SPUBLISH, Redis 7) with one
	// connection per master. Off: a single server, one pub/sub connection.
	Cluster bool
	// Username and Password authenticate (AUTH); empty sends none.
	Username string
	Password string
	// TLS, when set, dials every connection with TLS; nil dials plain TCP.
	TLS *tls.Config

	// Prefix starts every key and topic; default "comet:". It must not
	// hold '{' or '}' (the channel's hash tag follows it). Nodes that share
	// channels must share the prefix.
	Prefix string

	// HistorySize is how many publications a channel keeps for recovery;
	// default 100. Negative keeps none. PublishOptions.HistorySize
	// overrides it per publish.
	HistorySize int
	// HistoryTTL is how long a publication stays in history; default 5
	// minutes. PublishOptions.HistoryTTL overrides it per publish.
	HistoryTTL time.Duration
	// MetaTTL is how long a channel's epoch and seq outlive its last
	// publish, so that a position a client holds stays meaningful after
	// history has expired (its client is told of a gap, in the same
	// epoch, instead of meeting a new one); default 24 hours. It is never
	// shorter than the history's TTL.
	MetaTTL time.Duration
	// IdempotencyWindow is how long a publish's idempotency key is
	// remembered; default 2 minutes.
	IdempotencyWindow time.Duration

	// Timeout bounds each call that waits on Redis (Publish, History,
	// Subscribe, the presence calls) on top of the caller's context; past
	// it the call fails with broker.ErrUnavailable; default 2 seconds.
	Timeout time.Duration
	// DialTimeout bounds connecting to a Redis node; default 1 second.
	DialTimeout time.Duration
	// ReconnectMaxDelay caps the backoff between attempts to reconnect a
	// lost pub/sub connection (it starts at 50 ms and doubles, with
	// jitter); default 2 seconds.
	ReconnectMaxDelay time.Duration
	// Dispatchers is how many goroutines deliver publications to the
	// Handler (a channel always goes to the same one, so its publications
	// stay in order); default 4.
	Dispatchers int

	// Now, when set, replaces Redis TIME as the clock of publications,
	// history expiry and presence expiry. Tests move it by hand; in
	// production leave it nil so that every node uses Redis's one clock.
	Now func() time.Time
	// Logger receives the engine's few events (a pub/sub connection lost
	// and regained, recoveries); nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Addrs) == 0 {
		c.Addrs = []string{"127.0.0.1:6379"}
	}
	if c.Prefix == "" {
		c.Prefix = "comet:"
	}
	if c.HistorySize == 0 {
		c.HistorySize = 100
	}
	if c.HistoryTTL == 0 {
		c.HistoryTTL = 5 * time.Minute
	}
	if c.MetaTTL == 0 {
		c.MetaTTL = 24 * time.Hour
	}
	c.MetaTTL = max(c.MetaTTL, c.HistoryTTL)
	if c.IdempotencyWindow == 0 {
		c.IdempotencyWindow = 2 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = time.Second
	}
	if c.ReconnectMaxDelay == 0 {
		c.ReconnectMaxDelay = 2 * time.Second
	}
	if c.Dispatchers == 0 {
		c.Dispatchers = 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if strings.ContainsAny(c.Prefix, "{}") {
		errs = append(errs, errors.New("redis: prefix must not contain '{' or '}'"))
	}
	if c.HistoryTTL < 0 || c.MetaTTL < 0 || c.IdempotencyWindow < 0 || c.Timeout < 0 ||
		c.DialTimeout < 0 || c.ReconnectMaxDelay < 0 {
		errs = append(errs, errors.New("redis: durations must not be negative"))
	}
	if c.Dispatchers < 0 || c.Dispatchers > 256 {
		errs = append(errs, errors.New("redis: dispatchers must be between 1 and 256"))
	}
	for _, a := range c.Addrs {
		if a == "" {
			errs = append(errs, errors.New("redis: empty address"))
		}
	}
	return errors.Join(errs...)
}
