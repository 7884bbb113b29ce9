package redis

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/broker/brokertest"
)

var prefixes atomic.Int64

// testConfig is a Config for addrs with a prefix of its own, so tests can
// share a server.
func testConfig(addrs ...string) Config {
	return Config{
		Addrs:  addrs,
		Prefix: "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Short backoff keeps link-loss tests quick.
		ReconnectMaxDelay: 200 * time.Millisecond,
		// Generous: CI shares two cores between many test binaries.
		Timeout: 10 * time.Second,
	}
}

// open returns an engine on cfg, closed when the test ends.
func open(t testing.TB, cfg Config) *Broker {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// started returns an engine on cfg started with a fresh recorder.
func started(t testing.TB, cfg Config) (*Broker, *brokertest.Recorder) {
	t.Helper()
	b := open(t, cfg)
	rec := brokertest.NewRecorder()
	if err := b.Start(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Check(t) })
	return b, rec
}

// eventually polls cond until it holds, failing after the deadline. For
// states that have no event to wait on (a key expiring inside Redis).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(brokertest.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, brokertest.WaitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
