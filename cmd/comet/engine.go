package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/broker/redis"
	"github.com/comet-im/comet/server"
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

// buildEngine sets cfg.Broker, cfg.Presence and cfg.Ready from o. The
// server closes the broker when it has drained.
func buildEngine(o *options, cfg *server.Config, log *slog.Logger) error {
	e := &o.engine
	switch e.kind {
	case "", "memory":
		b, err := memory.New(o.memory)
		if err != nil {
			return err
		}
		cfg.Broker, cfg.Presence = b, memory.NewPresence(nil)
		return nil
	case "redis":
		rc := redis.Config{
			Addrs: splitList(e.redisAddrs), Cluster: e.redisCluster,
			Username: e.redisUser, Password: e.redisPassword, Prefix: e.redisPrefix,
			HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL,
			Logger: log.With("engine", "redis"),
		}
		if e.redisTLS {
			rc.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		b, err := redis.New(rc)
		if err != nil {
			return err
		}
		cfg.Broker, cfg.Presence, cfg.Ready = b, b, b.Ready
		return nil
	}
	return fmt.Errorf("-engine %q: want memory or redis", e.kind)
}
