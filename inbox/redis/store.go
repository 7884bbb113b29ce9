package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// Store is inbox.Store on a single Redis server or a Redis Cluster.
type Store struct {
	cfg    Config
	client rueidis.Client
	// prefix is cfg.Prefix + "inbox:"; index and sweepKey are the two
	// keys that are no user's.
	prefix, index, sweepKey string
	// indexArg tells the scripts whether they may write the users index
	// themselves: "1" on a single server, "0" in a cluster, where it is
	// in another slot than the user.
	indexArg string

	// The scripts' fixed arguments, formatted once.
	argWindow, argIdemTTL, argMaxEntries, argMaxAge, argMaxBytes, argMaxDevices, argPageBytes string

	// mu guards closed; every call holds it for reading while it runs, so
	// that Close waits for the calls in flight.
	mu     sync.RWMutex
	closed bool

	// sweepMu serialises Sweep steps; it guards sweepAfter, the last user
	// the previous step finished.
	sweepMu    sync.Mutex
	sweepAfter string
	sweepStop  chan struct{}
	sweepDone  chan struct{}
}

var _ inbox.Store = (*Store)(nil)

// New connects to Redis (it fails when no address answers, wrapping
// broker.ErrUnavailable) and returns the store, whose background sweep
// starts at once unless Config.SweepInterval is negative.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       cfg.Addrs,
		Username:          cfg.Username,
		Password:          cfg.Password,
		TLSConfig:         cfg.TLS,
		ForceSingleClient: !cfg.Cluster,
		// Client-side caching would issue CLIENT TRACKING; the store reads
		// nothing it could cache (every read must see the latest write).
		DisableCache: true,
		Dialer:       net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: time.Second},
		ClientName:   "comet-inbox",
	})
	if err != nil {
		return nil, fmt.Errorf("inbox/redis: connect %s: %w: %w", strings.Join(cfg.Addrs, ","), broker.ErrUnavailable, err)
	}
	if cfg.Cluster && client.Mode() != rueidis.ClientModeCluster {
		client.Close()
		return nil, fmt.Errorf("inbox/redis: Cluster is set but %s is not a cluster node", strings.Join(cfg.Addrs, ","))
	}
	s := &Store{
		cfg:           cfg,
		client:        client,
		prefix:        cfg.Prefix + "inbox:",
		indexArg:      "1",
		argWindow:     strconv.FormatInt(cfg.IdempotencyWindow.Microseconds(), 10),
		argIdemTTL:    strconv.FormatInt((cfg.IdempotencyWindow + time.Minute).Milliseconds(), 10),
		argMaxEntries: limitArg(int64(cfg.Retention.MaxEntries)),
		argMaxAge:     limitArg(cfg.Retention.MaxAge.Microseconds()),
		argMaxBytes:   limitArg(cfg.Retention.MaxBytes),
		argMaxDevices: strconv.Itoa(cfg.MaxDevices),
		argPageBytes:  strconv.Itoa(cfg.PageBytes),
		sweepStop:     make(chan struct{}),
		sweepDone:     make(chan struct{}),
	}
	s.index = s.prefix + "users"
	s.sweepKey = s.prefix + "sweep"
	if cfg.Cluster {
		s.indexArg = "0"
	}
	if cfg.SweepInterval > 0 {
		go s.sweepLoop()
	} else {
		close(s.sweepDone)
	}
	return s, nil
}

// limitArg is a retention limit for the scripts: -1 for none.
func limitArg(v int64) string {
	if v < 0 {
		return "-1"
	}
	return strconv.FormatInt(v, 10)
}

// Close stops the background sweep, waits for the calls in flight (each
// at most Config.Timeout), and closes the connections. Calls after it,
// Close included, return inbox.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed("close")
	}
	s.closed = true
	s.mu.Unlock()
	close(s.sweepStop)
	<-s.sweepDone
	s.client.Close()
	return nil
}

// enter begins a call: it fails once the store is closed, and otherwise
// holds Close off until leave.
func (s *Store) enter(op string) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed(op)
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

func errClosed(op string) error { return fmt.Errorf("inbox/redis: %s: %w", op, inbox.ErrClosed) }

// withTimeout bounds ctx by the configured call timeout; a caller's
// deadline that comes sooner is kept as it is (no timer to set).
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.cfg.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// fail turns an error of a call to Redis into the store's: the caller's
// own cancellation or deadline as is (a write may then have been stored
// or not), ErrCorrupt for a record a script could not read,
// broker.ErrUnavailable when Redis could not be reached in time or
// answered "not now".
func (s *Store) fail(op string, caller context.Context, err error) error {
	if errors.Is(err, rueidis.ErrClosing) {
		return errClosed(op)
	}
	if caller.Err() != nil {
		return fmt.Errorf("inbox/redis: %s: %w", op, caller.Err())
	}
	if errors.Is(err, inbox.ErrCorrupt) {
		return err // a reply of the wrong shape, already said so
	}
	if re, ok := redisErr(err); ok {
		msg := re.Error()
		if strings.HasPrefix(msg, "CORRUPT") {
			return fmt.Errorf("inbox/redis: %s: %w (%s)", op, inbox.ErrCorrupt, msg)
		}
		if !transient(msg) {
			return fmt.Errorf("inbox/redis: %s: %w", op, err)
		}
	}
	return fmt.Errorf("inbox/redis: %s: %w: %w", op, broker.ErrUnavailable, err)
}

// transient reports Redis error replies that mean "not now" (loading,
// failing over, out of memory, a slot moving) rather than a bad call.
func transient(msg string) bool {
	for _, p := range [...]string{"LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "OOM", "MOVED", "ASK", "NOREPLICAS", "MISCONF"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// retryable reports a failure of the connection (Redis restarted under
// the call) rather than of Redis or of the deadline: a write that is safe
// to send twice is sent again once.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, rueidis.ErrClosing) {
		return false
	}
	_, isRedis := redisErr(err)
	return !isRedis
}

// redisErr finds an error reply of Redis in err's chain (rueidis's
// IsRedisErr looks at err alone).
func redisErr(err error) (*rueidis.RedisError, bool) {
	var re *rueidis.RedisError
	if errors.As(err, &re) && !re.IsNil() {
		return re, true
	}
	return nil, false
}

// nowArg is the scripts' clock argument: "" lets them read Redis TIME.
func (s *Store) nowArg() string {
	if s.cfg.Now == nil {
		return ""
	}
	return strconv.FormatInt(s.cfg.Now().UnixMicro(), 10)
}

// newEpoch returns a random non-zero epoch, used by a script only when it
// begins a log: a deleted and recreated user's log must not be mistaken
// for the old one.
func newEpoch() string {
	for {
		if e := rand.Uint64(); e != 0 {
			return strconv.FormatUint(e, 10)
		}
	}
}

// pageLimit returns the number of items a read returns for limit.
func (s *Store) pageLimit(limit int) int {
	if limit <= 0 || limit > s.cfg.PageSize {
		return s.cfg.PageSize
	}
	return limit
}

// Ready reports whether the store can serve calls now: every Redis node
// it knows answers a PING within Config.Timeout. For readiness probes
// (/healthz), so that a node whose Redis is unreachable stops getting new
// clients; the error wraps broker.ErrUnavailable.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.enter("ready"); err != nil {
		return err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	for addr, node := range s.client.Nodes() {
		if err := node.Do(ctx, node.B().Ping().Build()).Error(); err != nil {
			return s.fail("ready "+addr, caller, err)
		}
	}
	return nil
}
