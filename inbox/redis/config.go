package redis

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Config configures the Redis store. The zero value of every field means
// its documented default, so Config{} talks to a local Redis on 6379 with
// the embedded store's limits.
type Config struct {
	// Addrs are the Redis server's "host:port" (one address), or, with
	// Cluster, some of the cluster's nodes to learn the others from;
	// default ["127.0.0.1:6379"].
	Addrs []string
	// Cluster selects Redis Cluster: each user's keys live in the slot of
	// the user id, so users spread over every master. A fan-out Append is
	// then one script per recipient, not one for all (see Store.Append).
	Cluster bool
	// Username and Password authenticate (AUTH); empty sends none.
	Username string
	Password string
	// TLS, when set, dials every connection with TLS; nil dials plain TCP.
	TLS *tls.Config

	// Prefix starts every key; the inbox's keys continue it with
	// "inbox:". Default "comet:", the Redis broker's, whose channel keys
	// never begin with "inbox:". It must not hold '{' or '}'.
	Prefix string

	// The limits, with the same meaning, defaults and caps as the
	// embedded store's fields of the same names (inbox.Options).
	Retention         inbox.Retention
	MaxPayloadBytes   int
	MaxRecipients     int
	MaxAppendBytes    int64
	MaxDevices        int
	PageSize          int
	PageBytes         int
	IdempotencyWindow time.Duration

	// SweepInterval is the pause between background sweeps (retention
	// for logs nobody appends to, and expired idempotency records); one
	// node of those sharing the Redis takes each round. Default 1 hour
	// (age limits are days, and a round costs one script per user);
	// negative: no background sweep (call Sweep).
	SweepInterval time.Duration
	// SweepUsers is how many users one sweep step visits; default 256.
	SweepUsers int

	// Timeout bounds each call on top of the caller's context; past it
	// the call fails with broker.ErrUnavailable; default 2 seconds.
	Timeout time.Duration
	// DialTimeout bounds connecting to a Redis node; default 1 second.
	DialTimeout time.Duration

	// Now, when set, replaces Redis TIME as the clock of entries, devices,
	// the age limit and the idempotency window. Tests move it by hand; in
	// production leave it nil so that every node uses Redis's one clock.
	// Times are kept in microseconds.
	Now func() time.Time
	// Logger receives background failures (a sweep, a user left out of
	// the users index); nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Addrs) == 0 {
		c.Addrs = []string{"127.0.0.1:6379"}
	}
	if c.Prefix == "" {
		c.Prefix = "comet:"
	}
	// The embedded store's defaults (inbox/options.go), which it does not
	// export.
	if c.Retention.MaxEntries == 0 {
		c.Retention.MaxEntries = 10_000
	}
	if c.Retention.MaxAge == 0 {
		c.Retention.MaxAge = 30 * 24 * time.Hour
	}
	if c.Retention.MaxBytes == 0 {
		c.Retention.MaxBytes = 16 << 20
	}
	if c.MaxPayloadBytes == 0 {
		c.MaxPayloadBytes = 64 << 10
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = 1024
	}
	if c.MaxAppendBytes == 0 {
		c.MaxAppendBytes = 16 << 20
	}
	if c.MaxDevices == 0 {
		c.MaxDevices = 32
	}
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.PageBytes == 0 {
		c.PageBytes = 4 << 20
	}
	if c.IdempotencyWindow == 0 {
		c.IdempotencyWindow = 10 * time.Minute
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = time.Hour
	}
	if c.SweepUsers == 0 {
		c.SweepUsers = 256
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports settings that cannot work. The limits are checked by
// inbox.Options.Validate, so that both stores accept the same ranges.
func (c Config) Validate() error {
	var errs []error
	if strings.ContainsAny(c.Prefix, "{}") {
		errs = append(errs, errors.New("inbox/redis: prefix must not contain '{' or '}'"))
	}
	if c.Timeout < 0 || c.DialTimeout < 0 {
		errs = append(errs, errors.New("inbox/redis: timeouts must not be negative"))
	}
	if c.SweepUsers < 0 {
		errs = append(errs, errors.New("inbox/redis: sweep users must not be negative"))
	}
	for _, a := range c.Addrs {
		if a == "" {
			errs = append(errs, errors.New("inbox/redis: empty address"))
		}
	}
	limits := inbox.Options{
		Retention:         c.Retention,
		MaxPayloadBytes:   c.MaxPayloadBytes,
		MaxRecipients:     c.MaxRecipients,
		MaxAppendBytes:    c.MaxAppendBytes,
		MaxDevices:        c.MaxDevices,
		PageSize:          c.PageSize,
		PageBytes:         c.PageBytes,
		IdempotencyWindow: c.IdempotencyWindow,
	}
	if err := limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
