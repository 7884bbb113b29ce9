package redis

import (
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/inbox/inboxtest"
)

var prefixes atomic.Int64

// testConfig is a Config for addrs with a prefix of its own, so tests can
// share a server, and no background sweep.
func testConfig(addrs ...string) Config {
	return Config{
		Addrs:         addrs,
		Prefix:        "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
		// Generous: CI shares two cores between many test binaries.
		Timeout: 10 * time.Second,
	}
}

// contractConfig applies the suite's options.
func contractConfig(cfg Config, o inboxtest.Options) Config {
	cfg.Now = o.Now
	cfg.Retention = o.Retention
	cfg.IdempotencyWindow = o.IdempotencyWindow
	cfg.MaxDevices = o.MaxDevices
	cfg.MaxPayloadBytes = o.MaxPayloadBytes
	cfg.MaxRecipients = o.MaxRecipients
	cfg.MaxAppendBytes = o.MaxAppendBytes
	cfg.PageSize = o.PageSize
	cfg.PageBytes = o.PageBytes
	return cfg
}

// open returns a store on cfg, closed when the test ends.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
