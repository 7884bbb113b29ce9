// Command comet runs a Comet node: WebSocket and HTTP push on a gnet event
// loop, over an engine (in process by default).
//
// Every flag can also be set by an environment variable: COMET_ followed by
// the flag name in upper case with dashes as underscores (-api-key is
// COMET_API_KEY). A flag given on the command line wins. SIGINT or SIGTERM
// drains the node and exits; if the event engine ever stops on its own,
// the process exits with status 1 so that a supervisor restarts it.
package main

import (
	"context"
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
	o, err := parseFlags(args, os.LookupEnv)
	if err != nil {
		return err
	}
	if o.showVersion {
		fmt.Println("comet", version)
		return nil
	}
	cfg := o.server
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	if cfg.APIKey == "" && cfg.InsecureAPI {
		cfg.Logger.Warn("-insecure-api: the publish API answers anyone without a key; for local development only")
	}
	if cfg.Auth, err = buildAuth(&o.auth); err != nil {
		return err
	}
	switch {
	case o.auth.mode == "open":
		cfg.Logger.Warn("-auth open: no identity; every client may subscribe and publish anywhere")
	case o.auth.mode == "demo":
		cfg.Logger.Warn("-auth demo: GET /demo/token issues a token for any name; for local demos only")
	}
	if err := buildEngine(o, &cfg, cfg.Logger); err != nil {
		return err
	}

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-srv.Done():
		return srv.Err()
	}
	stop() // a second signal kills the process the default way
	cfg.Logger.Info("draining")
	return srv.Shutdown(context.Background())
}
