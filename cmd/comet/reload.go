package main

import (
	"log/slog"
	"strings"

	"github.com/comet-im/comet/server"
	"github.com/prometheus/client_golang/prometheus"
)

// reloader applies the configuration again on SIGHUP: the file is read
// again (with the same environment and command line over it), the
// policy, key and JWKS files too, and what can change safely changes at
// once (the keys marked live in the reference: limits, timers, keys,
// namespaces, origins, proxies, the admin token, the log level). A
// configuration that does not load or validate changes nothing. Either
// way the outcome is logged and counted (comet_config_reloads_total).
type reloader struct {
	args  []string
	env   lookupEnv
	srv   *server.Server
	adm   *adminRuntime
	id    *identity
	level *slog.LevelVar
	log   *slog.Logger

	started *options // the configuration the process started with
	current *options // the last one applied

	reloads  *prometheus.CounterVec
	lastOK   prometheus.Gauge
	lastTime prometheus.Gauge
}

func newReloader(args []string, env lookupEnv, o *options, srv *server.Server, adm *adminRuntime,
	id *identity, level *slog.LevelVar, log *slog.Logger, reg *prometheus.Registry) *reloader {
	r := &reloader{args: args, env: env, srv: srv, adm: adm, id: id, level: level, log: log, started: o, current: o,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "comet_config_reloads_total",
			Help: "Configuration reloads (SIGHUP), by result: applied or failed."}, []string{"result"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "comet_config_last_reload_successful",
			Help: "1 if the last reload was applied (or none was tried), 0 if it failed."}),
		lastTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "comet_config_last_reload_timestamp_seconds",
			Help: "When the configuration was last applied, Unix seconds."}),
	}
	r.reloads.WithLabelValues("applied")
	r.reloads.WithLabelValues("failed")
	r.lastOK.Set(1)
	r.lastTime.SetToCurrentTime()
	reg.MustRegister(r.reloads, r.lastOK, r.lastTime)
	return r
}

// reload is one SIGHUP.
func (r *reloader) reload() {
	o, err := loadOptions(r.args, r.env)
	var cfg server.Config
	if err == nil {
		cfg, err = serverConfig(o, r.id)
	}
	if err == nil {
		_, err = r.srv.Reload(cfg)
	}
	if err == nil && r.adm != nil {
		err = r.adm.srv.SetToken(o.admin.token)
	}
	if err != nil {
		r.reloads.WithLabelValues("failed").Inc()
		r.lastOK.Set(0)
		r.log.Error("configuration reload failed; nothing changed", "file", r.started.configFile,
			"err", strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	r.level.Set(o.logLevel)
	applied, restart := changedKeys(r.started, r.current, o)
	r.current = o
	r.reloads.WithLabelValues("applied").Inc()
	r.lastOK.Set(1)
	r.lastTime.SetToCurrentTime()
	r.log.Info("configuration reloaded", "file", r.started.configFile, "changed", applied)
	if len(restart) > 0 {
		r.log.Warn("configuration reloaded, but these keys only change at a restart", "keys", restart)
	}
}

// changedKeys compares a new configuration with the running one: the
// live keys that changed since the last reload, and the keys that differ
// from the start but need a restart.
func changedKeys(started, current, next *options) (applied, restart []string) {
	for _, k := range next.keys.keys {
		if k.has(cliOnly) {
			continue
		}
		v := next.keys.value(k.name)
		switch {
		case k.has(live) && v != current.keys.value(k.name):
			applied = append(applied, k.name)
		case !k.has(live) && v != started.keys.value(k.name):
			restart = append(restart, k.name)
		}
	}
	return applied, restart
}
