package server

import (
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker/memory"
)

// testClock is the clock seam of the tests: time moves only when told.
// Given as Config.Now, it drives the engine's TTLs and the timer wheels
// alike, so a test of a five-minute TTL takes no five minutes and no
// sleep.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// engineOf returns the in-process engine a test server runs on.
func engineOf(t testing.TB, srv *Server) *memory.Broker {
	t.Helper()
	b, ok := srv.conf().Broker.(*memory.Broker)
	if d, delayed := srv.conf().Broker.(*delayedEngine); delayed {
		b, ok = d.Broker, true
	}
	if !ok {
		t.Fatalf("the server runs on %T, not the memory engine", srv.conf().Broker)
	}
	return b
}
