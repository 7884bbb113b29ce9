// Command comet runs a Comet node: WebSocket pub/sub on a gnet event loop.
//
// Every flag can also be set by an environment variable: COMET_ followed by
// the flag name in upper case with dashes as underscores (-api-key is
// COMET_API_KEY). A flag given on the command line wins. SIGINT or SIGTERM
// drains the node and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
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
	var cfg server.Config
	var origins, logLevel string
	var showVersion bool
	fs := flag.NewFlagSet("comet", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address host:port")
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops (0: one per CPU)")
	fs.StringVar(&cfg.APIKey, "api-key", "", "key for POST /api/publish (empty: loopback clients only)")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated Origin values allowed on WebSockets and, with CORS, the HTTP transports (empty: all)")
	fs.BoolVar(&cfg.NoWebSocket, "no-websocket", false, "refuse WebSocket upgrades with 503 (test HTTP fallback)")
	fs.BoolVar(&cfg.Echo, "echo", false, "enable the /echo WebSocket endpoint (conformance testing)")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", 0, "request head cap (0: 8 KiB)")
	fs.IntVar(&cfg.MaxBodyBytes, "max-body-bytes", 0, "request body cap (0: 64 KiB)")
	fs.IntVar(&cfg.MaxMessageBytes, "max-message-bytes", 0, "WebSocket message and payload cap (0: 64 KiB)")
	fs.IntVar(&cfg.MaxOutboundBytes, "max-outbound-bytes", 0, "per-connection queued bytes before a slow client is cut off (0: 1 MiB)")
	fs.IntVar(&cfg.MaxSubscriptions, "max-subscriptions", 0, "channels per connection (0: 128)")
	fs.IntVar(&cfg.MaxChannels, "max-channels", 0, "channels per node (0: 1,000,000)")
	fs.IntVar(&cfg.HistorySize, "history-size", 0, "messages kept per channel for recovery (0: 100, -1: none)")
	fs.DurationVar(&cfg.HistoryTTL, "history-ttl", 0, "how long history is kept (0: 5m)")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", 0, "request head deadline and keep-alive idle time (0: 10s)")
	fs.DurationVar(&cfg.PingInterval, "ping-interval", 0, "WebSocket ping interval (0: 25s)")
	fs.DurationVar(&cfg.PongTimeout, "pong-timeout", 0, "time allowed for traffic after a ping (0: 10s)")
	fs.DurationVar(&cfg.PollHold, "poll-hold", 0, "longest long-poll hold, and the cap of its wait parameter (0: 25s)")
	fs.IntVar(&cfg.PollBatch, "poll-batch", 0, "messages per poll answer (0: 1000)")
	fs.DurationVar(&cfg.StreamHeartbeat, "stream-heartbeat", 0, "heartbeat interval of SSE, chunked and iframe streams (0: 15s)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 0, "graceful shutdown deadline (0: 10s)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs, os.LookupEnv); err != nil {
		return err
	}
	if showVersion {
		fmt.Println("comet", version)
		return nil
	}
	if origins != "" {
		cfg.AllowedOrigins = strings.Split(origins, ",")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cfg.APIKey == "" {
		cfg.Logger.Warn("no -api-key: the publish API answers loopback clients only")
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
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	cfg.Logger.Info("draining")
	return srv.Shutdown(context.Background())
}

// applyEnv sets every flag not given on the command line from its
// COMET_<NAME> environment variable.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "COMET_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookup(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}
