package main

import (
	"context"
	"crypto/tls"
	"log/slog"

	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/broker/redis"
	"github.com/comet-im/comet/server"
	"github.com/prometheus/client_golang/prometheus"
)

// engineOptions select and configure the engine (docs/REDIS.md).
type engineOptions struct {
	kind          string // memory or redis
	redisAddrs    string
	redisCluster  bool
	redisUser     string
	redisPassword string
	redisPrefix   string
	redisTLS      bool
}

// engineStats exposes an engine's own counters to Prometheus.
type engineStats interface {
	collectors() []prometheus.Collector
}

// redisConfig is the Redis engine's configuration.
func redisConfig(o *options, log *slog.Logger) redis.Config {
	e := &o.engine
	rc := redis.Config{
		Addrs: splitList(e.redisAddrs), Cluster: e.redisCluster,
		Username: e.redisUser, Password: e.redisPassword, Prefix: e.redisPrefix,
		HistorySize: o.server.HistorySize, HistoryTTL: o.server.HistoryTTL,
		Logger: log.With("engine", "redis"),
	}
	if e.redisTLS {
		rc.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return rc
}

// buildEngine sets cfg.Broker, cfg.Presence, cfg.Ready and, with the
// inbox on, cfg.Inbox from o. The server closes the broker (and the
// inbox's store with it) when it has drained. A non-nil personalUser must
// be bound to the server before it starts.
func buildEngine(o *options, cfg *server.Config, log *slog.Logger) (engineStats, *personalUser, error) {
	var stats engineStats
	if o.engine.kind == "redis" {
		b, err := redis.New(redisConfig(o, log))
		if err != nil {
			return nil, nil, err
		}
		cfg.Broker, cfg.Presence, cfg.Ready = b, b, b.Ready
		stats = redisStats{b}
	} else {
		b, err := memory.New(o.memory)
		if err != nil {
			return nil, nil, err
		}
		cfg.Broker, cfg.Presence = b, memory.NewPresence(nil)
	}
	if !o.inboxOn() {
		return stats, nil, nil
	}
	pu, is, err := withInbox(o, cfg, cfg.Broker, log)
	if err != nil {
		_ = cfg.Broker.Close(context.Background())
		return nil, nil, err
	}
	return bothStats{stats, is}, pu, nil
}

// checkEngine validates the engine's configuration without connecting.
func checkEngine(o *options) error {
	if o.engine.kind == "redis" {
		return redisConfig(o, slog.Default()).Validate()
	}
	_, err := memory.New(o.memory)
	return err
}

// redisStats reads broker/redis's counters at scrape time.
type redisStats struct{ b *redis.Broker }

func (r redisStats) collectors() []prometheus.Collector {
	st := r.b.Stats
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	return []prometheus.Collector{
		gauge("comet_redis_channels", "Channels the node is subscribed to at Redis.", func() float64 { return float64(st().Channels) }),
		gauge("comet_redis_links", "Pub/sub connections the engine keeps (one per Redis master).", func() float64 { return float64(st().Links) }),
		gauge("comet_redis_links_up", "Pub/sub connections connected now.", func() float64 { return float64(st().LinksUp) }),
		counterFunc("comet_redis_reconnects_total", "Pub/sub connections re-established after a loss.", func() float64 { return float64(st().Reconnects) }),
		counterFunc("comet_redis_delivered_total", "Publications received from Redis and handed to the node.", func() float64 { return float64(st().Delivered) }),
		counterFunc("comet_redis_recovered_total", "Publications read back from history after a lost link or a gap.", func() float64 { return float64(st().Recovered) }),
		counterFunc("comet_redis_recoveries_total", "History reads after a lost link or a gap.", func() float64 { return float64(st().Recoveries) }),
		counterFunc("comet_redis_gaps_total", "Sequence jumps seen on a live link.", func() float64 { return float64(st().Gaps) }),
		counterFunc("comet_redis_dropped_total", "Live publications dropped from a recovering channel's buffer (read back from history instead).", func() float64 { return float64(st().Dropped) }),
	}
}
