// Command comet runs a Comet node: WebSocket and HTTP push on a gnet event
// loop, over an engine (in process by default).
//
// Every setting is a key (docs/CONFIG.md): a flag, a COMET_* environment
// variable (COMET_ and the flag name in upper case with dashes as
// underscores: -api-key is COMET_API_KEY), and the same name in the YAML
// file of -config. The file loses to the environment, which loses to the
// command line. -check-config FILE validates a file and prints the
// effective configuration.
//
// Signals: SIGHUP reloads the configuration (what can change safely
// changes at once); SIGINT or SIGTERM drains the node (it turns unready,
// waits -drain-delay, closes clients spread over -drain-window, waits
// up to -drain-timeout for the last) and exits; a second one kills it. If
// the event engine ever stops on its own, the process exits with status 1
// so that a supervisor restarts it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/comet-im/comet/server"
)

var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "comet:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// SIGHUP's default action ends the process: take it over first, so
	// that a reload sent while the node starts is not fatal.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// SIGINT and SIGTERM too: one that comes while the node starts (it
	// may be serving already) drains it instead of killing it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := loadOptions(args, os.LookupEnv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage()
		return nil
	case o != nil && o.showVersion:
		fmt.Println("comet", version)
		return nil
	case o != nil && o.checkConfig != "":
		return checkConfig(os.Stdout, o, err)
	case err != nil:
		return err
	}
	level := new(slog.LevelVar)
	level.Set(o.logLevel)
	log := newLogger(os.Stderr, o.logFormat, level)
	id := newIdentity(o)
	cfg, err := serverConfig(o, id)
	if err != nil {
		return err
	}
	cfg.Logger = log
	warnInsecure(o, log)
	eng, pu, err := buildEngine(o, &cfg, log)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		_ = cfg.Broker.Close(context.Background()) // and the inbox's store with it
		return err
	}
	if pu != nil {
		pu.srv.Store(srv)
	}
	if err := srv.Start(); err != nil {
		_ = cfg.Broker.Close(context.Background())
		return err
	}
	reg := newRegistry(srv, eng, id)
	adm, err := startAdmin(o, srv, id, reg, log)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	defer adm.stop()
	rl := newReloader(args, os.LookupEnv, o, srv, adm, id, level, log, reg)
	return serve(ctx, stop, srv, rl, hup, log)
}

// serve handles signals until the node stops: ctx ends at SIGINT or
// SIGTERM, and stop gives the next one its default action back.
func serve(ctx context.Context, stop context.CancelFunc, srv *server.Server, rl *reloader, hup <-chan os.Signal, log *slog.Logger) error {
	for {
		select {
		case <-hup:
			rl.reload()
			continue
		case <-ctx.Done():
		case <-srv.Done():
			return srv.Err()
		}
		break
	}
	stop() // a second signal kills the process the default way
	c := rl.current.server
	log.Info("draining: unready now", "delay", c.DrainDelay, "window", c.DrainWindow, "timeout", c.DrainTimeout)
	rl.adm.endFeed()
	return srv.Shutdown(context.Background())
}

// warnInsecure says at start what a configuration leaves open.
func warnInsecure(o *options, log *slog.Logger) {
	if o.server.APIKey == "" && o.server.InsecureAPI {
		log.Warn("-insecure-api: the publish API answers anyone without a key; for local development only")
	}
	switch o.auth.mode {
	case "open":
		log.Warn("-auth open: no identity; every client may subscribe and publish anywhere")
	case "demo":
		log.Warn("-auth demo: GET /demo/token issues a token for any name; for local demos only")
	}
}

// usage prints the flags, for -h.
func usage() {
	fs := newOptions().keys.fs
	fs.SetOutput(os.Stderr)
	fmt.Fprintln(os.Stderr, "usage: comet [-config FILE] [flags]   (docs/CONFIG.md has every key)")
	fs.PrintDefaults()
}
