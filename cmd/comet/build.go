package main

import (
	"context"
	"time"

	"github.com/comet-im/comet/server"
)

// serverConfig turns the options into the server's configuration, all
// but the engine (buildEngine) and the logger.
func serverConfig(o *options, id *identity) (server.Config, error) {
	cfg := o.server
	var err error
	cfg.Auth, err = buildAuth(&o.auth, id)
	return cfg, err
}

// newIdentity prepares what lives as long as the process: the
// dashboard's issuer when its feed runs with identity on.
func newIdentity(o *options) *identity {
	id := &identity{}
	if on, _ := o.admin.feed(o.auth.mode); on && o.auth.mode != "open" {
		id.dash = newDashIssuer()
	}
	return id
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
