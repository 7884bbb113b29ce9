package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/comet-im/comet/admin"
	"github.com/comet-im/comet/metrics"
	"github.com/comet-im/comet/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// adminOptions are the admin listener's keys.
type adminOptions struct {
	addr         string
	token        string
	dashboard    string // auto, on, off
	publicURL    string
	feedInterval time.Duration
}

// check validates the admin keys.
func (a *adminOptions) check(o *options) error {
	var errs []error
	switch a.dashboard {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("admin-dashboard %q: want auto, on or off", a.dashboard))
	}
	if a.addr != "" {
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin-addr %q: %w", a.addr, err))
		} else if err := admin.CheckToken(host, a.token); err != nil {
			errs = append(errs, err)
		}
		if a.addr == o.server.Addr {
			errs = append(errs, errors.New("admin-addr: must differ from addr (the admin listener is never the public port)"))
		}
	}
	if a.publicURL != "" {
		if u, err := url.Parse(a.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("admin-public-url %q: want an absolute http or https URL", a.publicURL))
		}
	}
	if a.feedInterval < 100*time.Millisecond || a.feedInterval > time.Minute {
		errs = append(errs, fmt.Errorf("admin-feed-interval %s: want 100ms to 1m", a.feedInterval))
	}
	return errors.Join(errs...)
}

// feed says whether the dashboard's feed runs, and if not, why.
func (a *adminOptions) feed(authMode string) (on bool, off string) {
	switch {
	case a.addr == "":
		return false, "no admin listener"
	case a.dashboard == "off":
		return false, "the live feed is off (admin-dashboard: off)"
	case a.dashboard == "auto" && authMode == "open":
		return false, "the live feed is off: with -auth open any client could read it. " +
			"Set admin-dashboard: on to accept that, or run with identity (jwt, hook, demo)"
	}
	return true, ""
}

// publicBase is the URL the dashboard's browser reaches the public port at.
func (a *adminOptions) publicBase(srvAddr string) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	return "http://" + srvAddr
}

// adminRuntime is the running admin listener and the dashboard feed.
type adminRuntime struct {
	srv      *admin.Server
	stopFeed context.CancelFunc
	feedDone chan struct{}
}

// startAdmin starts the admin listener, when one is configured, with
// the node's metrics on reg, and the dashboard feed.
func startAdmin(o *options, srv *server.Server, id *identity, reg *prometheus.Registry, log *slog.Logger) (*adminRuntime, error) {
	if o.admin.addr == "" {
		return nil, nil
	}
	on, off := o.admin.feed(o.auth.mode)
	d := &admin.Dashboard{PublicURL: o.admin.publicBase(srv.Addr()), Off: off}
	if id.dash != nil {
		d.Channel = id.dash.channel
		d.Token = id.dash.issue
	} else {
		d.Channel = newDashChannel()
	}
	a, err := admin.New(admin.Config{
		Addr:     o.admin.addr,
		Token:    o.admin.token,
		Gatherer: reg,
		Alive: func() bool {
			select {
			case <-srv.Done():
				return false
			default:
				return true
			}
		},
		Ready: func() (bool, string) {
			st := srv.Stats()
			switch {
			case st.Draining:
				return false, "draining"
			case !st.Ready:
				return false, "engine unavailable"
			}
			return true, ""
		},
		Dashboard: d,
		Logger:    log.With("listener", "admin"),
	})
	if err != nil {
		return nil, err
	}
	a.Serve()
	rt := &adminRuntime{srv: a, stopFeed: func() {}}
	log.Info("admin listener", "addr", a.Addr(), "token", o.admin.token != "", "dashboard feed", on, "channel", d.Channel)
	if on {
		if o.auth.mode == "open" {
			log.Warn("admin-dashboard on with -auth open: any client of the public port can read the node's stats feed", "channel", d.Channel)
		}
		ctx, cancel := context.WithCancel(context.Background())
		rt.stopFeed, rt.feedDone = cancel, make(chan struct{})
		go func() {
			defer close(rt.feedDone)
			admin.RunFeed(ctx, admin.FeedConfig{Channel: d.Channel, Interval: o.admin.feedInterval,
				Stats: srv.Stats, TopChannels: srv.TopChannels, Publish: srv.Publish, Logger: log})
		}()
	}
	return rt, nil
}

// stop ends the feed and the listener.
func (rt *adminRuntime) stop() {
	if rt == nil {
		return
	}
	rt.endFeed()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = rt.srv.Shutdown(ctx)
}

// endFeed stops the dashboard feed and waits for it: before the node
// drains, so that it never publishes to a closed engine. The listener
// stays up meanwhile (/readyz says draining). Idempotent; nil-safe.
func (rt *adminRuntime) endFeed() {
	if rt == nil {
		return
	}
	rt.stopFeed()
	if rt.feedDone != nil {
		<-rt.feedDone
	}
}

// newRegistry gathers the node's metrics, the Go runtime's and the
// process's (open file descriptors against LimitNOFILE), and the
// engine's and hooks' own counters.
func newRegistry(srv *server.Server, eng engineStats, id *identity) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(srv),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "comet_build_info", Help: "Always 1; the version label says which build runs.",
			ConstLabels: prometheus.Labels{"version": version}}, func() float64 { return 1 }))
	if eng != nil {
		reg.MustRegister(eng.collectors()...)
	}
	if h := id.hook; h != nil {
		reg.MustRegister(
			counterFunc("comet_auth_hook_calls_total", "Connect hook calls made.", func() float64 { return float64(h.Stats().Calls) }),
			counterFunc("comet_auth_hook_allowed_total", "Connect hook answers with an identity.", func() float64 { return float64(h.Stats().Allowed) }),
			counterFunc("comet_auth_hook_denied_total", "Connect hook refusals.", func() float64 { return float64(h.Stats().Denied) }),
			counterFunc("comet_auth_hook_unavailable_total", "Connect hook failures (backend down, timeout, bad answer).", func() float64 { return float64(h.Stats().Unavailable) }),
			counterFunc("comet_auth_hook_cache_hits_total", "Connect hook answers taken from the cache.", func() float64 { return float64(h.Stats().CacheHits) }))
	}
	if w := id.webhook; w != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "comet_webhook_queued", Help: "Users with an undelivered presence webhook event."}, func() float64 { return float64(w.Stats().Queued) }),
			counterFunc("comet_webhook_sent_total", "Presence webhook events delivered.", func() float64 { return float64(w.Stats().Sent) }),
			counterFunc("comet_webhook_retried_total", "Presence webhook attempts after an event's first.", func() float64 { return float64(w.Stats().Retried) }),
			counterFunc("comet_webhook_failed_total", "Presence webhook events given up.", func() float64 { return float64(w.Stats().Failed) }),
			counterFunc("comet_webhook_dropped_total", "Presence webhook events dropped.", func() float64 { return float64(w.Stats().Dropped) }),
			counterFunc("comet_webhook_coalesced_total", "Presence webhook events replaced by a later one for the same user.", func() float64 { return float64(w.Stats().Coalesced) }))
	}
	return reg
}

func counterFunc(name, help string, fn func() float64) prometheus.CounterFunc {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn)
}
