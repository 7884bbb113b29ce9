package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/inbox/personal"
	inboxredis "github.com/comet-im/comet/inbox/redis"
	"github.com/comet-im/comet/server"
	"github.com/prometheus/client_golang/prometheus"
)

// inboxOptions configure the users' durable inbox (docs/INBOX.md): with
// it, personal channels (user:<id>) are served from per-user logs that
// survive restarts, with per-device acknowledgements and read markers.
type inboxOptions struct {
	mode        string // auto, on or off
	dataDir     string
	durability  string
	groupWindow time.Duration
	retention   inbox.Retention
	maxPayload  int
	maxDevices  int
	idemWindow  time.Duration
}

// on says whether the node keeps an inbox: "auto" keeps one where it has
// somewhere to keep it (the memory engine with a data-dir) and clients
// have identities to own it.
func (o *options) inboxOn() bool {
	switch o.inbox.mode {
	case "on":
		return true
	case "off":
		return false
	}
	return o.engine.kind == "memory" && o.inbox.dataDir != "" && o.auth.mode != "open"
}

// check validates the inbox keys, for finish.
func (ib *inboxOptions) check(o *options) error {
	var errs []error
	switch ib.mode {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("inbox %q: want auto, on or off", ib.mode))
	}
	if _, err := inbox.ParseDurability(ib.durability); err != nil {
		errs = append(errs, fmt.Errorf("inbox-durability: %w", err))
	}
	if ib.mode == "on" {
		if o.auth.mode == "open" {
			errs = append(errs, errors.New("inbox on: needs identities (auth jwt, hook or demo); with auth open no channel is anyone's"))
		}
		if o.engine.kind == "memory" && ib.dataDir == "" {
			errs = append(errs, errors.New("inbox on with the memory engine: set data-dir, where the logs are kept"))
		}
	}
	// The store's own limits, for either store: -check-config must refuse
	// what the start would.
	if len(errs) == 0 && o.inboxOn() {
		var err error
		if o.engine.kind == "memory" {
			err = ib.dbOptions(slog.Default()).Validate()
		} else {
			err = o.redisStoreConfig(slog.Default()).Validate()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dbOptions is the embedded store's configuration.
func (ib *inboxOptions) dbOptions(log *slog.Logger) inbox.Options {
	d, _ := inbox.ParseDurability(ib.durability) // checked by finish
	return inbox.Options{Durability: d, GroupWindow: ib.groupWindow, Retention: ib.retention,
		MaxPayloadBytes: ib.maxPayload, MaxDevices: ib.maxDevices, IdempotencyWindow: ib.idemWindow,
		Logger: log.With("inbox", "embedded")}
}

// redisStoreConfig is the Redis store's configuration: the engine's Redis.
func (o *options) redisStoreConfig(log *slog.Logger) inboxredis.Config {
	rc := redisConfig(o, log)
	ib := &o.inbox
	return inboxredis.Config{Addrs: rc.Addrs, Cluster: rc.Cluster, Username: rc.Username, Password: rc.Password,
		TLS: rc.TLS, Prefix: rc.Prefix, Retention: ib.retention, MaxPayloadBytes: ib.maxPayload,
		MaxDevices: ib.maxDevices, IdempotencyWindow: ib.idemWindow, Logger: log.With("inbox", "redis")}
}

// personalUser hands the personal engine the server's PersonalUser: the
// engine is built before the server, and asks only once the server runs.
type personalUser struct{ srv atomic.Pointer[server.Server] }

func (p *personalUser) user(channel string) (string, bool) {
	if s := p.srv.Load(); s != nil {
		return s.PersonalUser(channel)
	}
	return "", false
}

// withInbox wraps relay, the channel engine, in the personal engine over
// a new store, and sets cfg.Inbox. The returned personalUser must be
// bound to the server before it starts.
func withInbox(o *options, cfg *server.Config, relay broker.Broker, log *slog.Logger) (*personalUser, engineStats, error) {
	var store inbox.Store
	if o.engine.kind == "redis" {
		rs, err := inboxredis.New(o.redisStoreConfig(log))
		if err != nil {
			return nil, nil, err
		}
		store = rs
		if ready := cfg.Ready; ready != nil {
			cfg.Ready = func(ctx context.Context) error { return errors.Join(ready(ctx), rs.Ready(ctx)) }
		} else {
			cfg.Ready = rs.Ready
		}
	} else {
		db, err := inbox.Open(filepath.Join(o.inbox.dataDir, "inbox"), o.inbox.dbOptions(log))
		if err != nil {
			return nil, nil, err
		}
		store = db
	}
	pu := &personalUser{}
	pb, err := personal.New(personal.Config{Store: store, Relay: relay, User: pu.user})
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	cfg.Broker, cfg.Inbox = pb, store
	log.Info("inbox on", "store", map[bool]string{true: "redis", false: "embedded"}[o.engine.kind == "redis"],
		"dir", o.inbox.dataDir, "durability", o.inbox.durability)
	return pu, inboxStats{pb}, nil
}

// inboxStats reads the personal engine's counters at scrape time.
type inboxStats struct{ b *personal.Broker }

func (s inboxStats) collectors() []prometheus.Collector {
	st := s.b.Stats
	return []prometheus.Collector{
		counterFunc("comet_inbox_appended_total", "Inbox entries appended (one per recipient).", func() float64 { return float64(st().Appended) }),
		counterFunc("comet_inbox_relay_failed_total", "Stored personal publications whose live relay failed (devices get them on their next replay).", func() float64 { return float64(st().RelayFailed) }),
		counterFunc("comet_inbox_replayed_total", "Inbox entries read for replays.", func() float64 { return float64(st().ReplayedRead) }),
	}
}

// bothStats shows two engines' counters.
type bothStats struct{ a, b engineStats }

func (s bothStats) collectors() []prometheus.Collector {
	var out []prometheus.Collector
	for _, e := range []engineStats{s.a, s.b} {
		if e != nil {
			out = append(out, e.collectors()...)
		}
	}
	return out
}
