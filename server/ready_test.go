package server

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// A node whose engine stops answering turns unready on /healthz, and ready
// again when it answers.
func TestHealthzFollowsEngineReadiness(t *testing.T) {
	var down atomic.Bool
	srv := startServer(t, Config{Ready: func(context.Context) error {
		if down.Load() {
			return errors.New("redis: connection refused")
		}
		return nil
	}})
	health := func() (int, string) {
		status, _, body := trDo(t, "GET", "http://"+srv.Addr()+"/healthz", "")
		return status, string(body)
	}
	if status, body := health(); status != 200 || !srv.Ready() {
		t.Fatalf("healthy engine: %d %q, Ready %v", status, body, srv.Ready())
	}
	down.Store(true)
	waitUntil(t, "an unready /healthz", func() bool {
		status, body := health()
		return status == 503 && strings.Contains(body, "engine unavailable")
	})
	if srv.Ready() {
		t.Fatal("Ready() true while the engine is down")
	}
	down.Store(false)
	waitUntil(t, "a ready /healthz", func() bool { status, _ := health(); return status == 200 })
}
