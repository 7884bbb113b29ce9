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
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/redis/rueidis"
)

// Broker is the Redis engine: broker.Broker and broker.Presence on a
// single Redis server or a Redis Cluster.
type Broker struct {
	cfg    Config
	client rueidis.Client
	// pubCmd is the script's publish command: PUBLISH on a single server,
	// SPUBLISH (sharded, the channel's slot only) in a cluster.
	pubCmd string

	// Precomputed script arguments of the default bounds.
	argSize, argTTL, argMetaTTL, argWindow string

	handler broker.Handler
	started atomic.Bool
	closed  atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Mutex

	table  table
	disp   []*dispatcher
	queue  recoveryQueue
	links  *linkSet
	counts counters
}

// New connects to Redis (it fails when no address answers) and returns an
// engine; Start begins delivery.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	opt := rueidis.ClientOption{
		InitAddress:       cfg.Addrs,
		Username:          cfg.Username,
		Password:          cfg.Password,
		TLSConfig:         cfg.TLS,
		ForceSingleClient: !cfg.Cluster,
		// Client-side caching would issue CLIENT TRACKING; nothing here
		// reads the same key twice.
		DisableCache: true,
		// Keep-alive probes find a dead peer the kernel would otherwise
		// wait hours on; rueidis also pings idle connections.
		Dialer:     net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: time.Second},
		ClientName: "comet",
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redis: connect %s: %w: %w", strings.Join(cfg.Addrs, ","), broker.ErrUnavailable, err)
	}
	if cfg.Cluster && client.Mode() != rueidis.ClientModeCluster {
		client.Close()
		return nil, fmt.Errorf("redis: Cluster is set but %s is not a cluster node", strings.Join(cfg.Addrs, ","))
	}
	b := &Broker{
		cfg:        cfg,
		client:     client,
		pubCmd:     "publish",
		argSize:    strconv.Itoa(max(cfg.HistorySize, 0)),
		argTTL:     strconv.FormatInt(millis(cfg.HistoryTTL), 10),
		argMetaTTL: strconv.FormatInt(millis(cfg.MetaTTL), 10),
		argWindow:  strconv.FormatInt(millis(cfg.IdempotencyWindow), 10),
		done:       make(chan struct{}),
	}
	if cfg.Cluster {
		b.pubCmd = "spublish"
	}
	b.table.init()
	b.links = newLinkSet(b)
	return b, nil
}

// Start makes b deliver publications to h: it starts the pub/sub
// connections (one per Redis master), the dispatchers and the recovery
// readers.
func (b *Broker) Start(h broker.Handler) error {
	if h == nil {
		return errors.New("redis: nil handler")
	}
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed.Load() {
		return fmt.Errorf("redis: start: %w", broker.ErrClosed)
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("redis: already started")
	}
	b.handler = h
	b.disp = make([]*dispatcher, b.cfg.Dispatchers)
	for i := range b.disp {
		b.disp[i] = &dispatcher{b: b, ch: make(chan event, dispatchQueue)}
		b.wg.Add(1)
		go b.disp[i].run()
	}
	b.queue.init()
	for range recoveryReaders {
		b.wg.Add(1)
		go b.recoveryReader()
	}
	b.links.start()
	return nil
}

// Close stops delivery, closes the pub/sub connections and the client, and
// waits for the engine's goroutines (or ctx). Calls after it fail with
// broker.ErrClosed.
func (b *Broker) Close(ctx context.Context) error {
	b.closeMu.Lock()
	if !b.closed.CompareAndSwap(false, true) {
		b.closeMu.Unlock()
		return nil
	}
	close(b.done)
	b.closeMu.Unlock()
	waited := make(chan struct{})
	go func() {
		// A link in the middle of a command to a hung server takes up to
		// the call timeout to notice; ctx bounds the wait for it.
		b.links.stop()
		b.wg.Wait()
		close(waited)
	}()
	var err error
	select {
	case <-waited:
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.client.Close()
	return err
}

// fail turns an error of a call to Redis into the engine's: ErrClosed once
// closed, ErrUnavailable when Redis could not be reached or could not take
// the call (nothing was stored), the caller's own cancellation as is.
func (b *Broker) fail(op string, ctx context.Context, err error) error {
	if b.closed.Load() || errors.Is(err, rueidis.ErrClosing) {
		return fmt.Errorf("redis: %s: %w", op, broker.ErrClosed)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if re, ok := rueidis.IsRedisErr(err); ok && !transient(re) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return fmt.Errorf("redis: %s: %w: %w", op, broker.ErrUnavailable, err)
}

// transient reports Redis error replies that mean "not now" (loading,
// failing over, out of memory, a slot moving) rather than a bad call.
func transient(re *rueidis.RedisError) bool {
	msg := re.Error()
	for _, p := range [...]string{"LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "OOM", "MOVED", "ASK", "NOREPLICAS", "MISCONF"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (b *Broker) errClosed(op string) error {
	return fmt.Errorf("redis: %s: %w", op, broker.ErrClosed)
}

// withTimeout bounds ctx by the configured call timeout; a caller's
// deadline that comes sooner is kept as it is (no timer to set).
func (b *Broker) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= b.cfg.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, b.cfg.Timeout)
}

// nowArg is the scripts' clock argument: "" lets them read Redis TIME.
func (b *Broker) nowArg() string {
	if b.cfg.Now == nil {
		return ""
	}
	return strconv.FormatInt(b.cfg.Now().UnixMilli(), 10)
}

// newEpoch returns a random epoch, used only when the channel has none.
// It is base-36 digits and letters: it never needs escaping in a cursor.
func newEpoch() string { return string(appendEpoch(nil)) }

// appendEpoch appends a new random epoch, at most maxEpochLen bytes.
func appendEpoch(dst []byte) []byte { return strconv.AppendUint(dst, rand.Uint64(), 36) }

// maxEpochLen is the length of the largest uint64 in base 36.
const maxEpochLen = 13

// millis is d in whole milliseconds, at least 1 (PEXPIRE 0 deletes).
func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// counters are the engine's statistics.
type counters struct {
	delivered, recovered, recoveries, dropped, reconnects, gaps atomic.Uint64
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	// Channels is how many channels the node is subscribed to.
	Channels int
	// Links is how many pub/sub connections the engine keeps (one per
	// Redis master), LinksUp how many of them are connected now.
	Links, LinksUp int
	// Reconnects counts pub/sub connections re-established after a loss.
	Reconnects uint64
	// Delivered counts publications handed to the Handler.
	Delivered uint64
	// Recovered counts those read back from history after a lost link or
	// a gap; Recoveries counts the reads.
	Recovered, Recoveries uint64
	// Gaps counts seq jumps seen on a live link (each starts a recovery).
	Gaps uint64
	// Dropped counts live publications dropped from a recovering
	// channel's bounded buffer (read back from history instead).
	Dropped uint64
}

// Stats returns a snapshot of the counters.
func (b *Broker) Stats() Stats {
	links, up := b.links.state()
	return Stats{
		Channels:   b.table.count(),
		Links:      links,
		LinksUp:    up,
		Reconnects: b.counts.reconnects.Load(),
		Delivered:  b.counts.delivered.Load(),
		Recovered:  b.counts.recovered.Load(),
		Recoveries: b.counts.recoveries.Load(),
		Gaps:       b.counts.gaps.Load(),
		Dropped:    b.counts.dropped.Load(),
	}
}

// Ready reports whether the engine can serve: Redis answers a PING within
// the timeout and, once started, every pub/sub connection is up. A node's
// readiness check calls it, so that a load balancer stops sending it new
// clients while its Redis link is down.
func (b *Broker) Ready(ctx context.Context) error {
	if b.closed.Load() {
		return b.errClosed("ready")
	}
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	if err := b.client.Do(ctx, b.client.B().Ping().Build()).Error(); err != nil {
		return b.fail("ping", ctx, err)
	}
	if links, up := b.links.state(); b.started.Load() && up < links {
		return fmt.Errorf("redis: %d of %d pub/sub connections down: %w", links-up, links, broker.ErrUnavailable)
	}
	return nil
}
