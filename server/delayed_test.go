package server

import (
	"context"
	"math/rand"
	"os"
	"sync"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/memory"
)

// delayedEngine is the memory engine behaving like a remote one: every
// call waits 1 to 5 ms (at random) before it is served, and publications
// reach the node from another goroutine, later, in order. It is not
// broker.Inline, so the server runs every engine call through its workers
// and the async completion path: with COMET_TEST_ENGINE=delayed (make
// test runs the transport and recovery tests so), every transport must
// still lose and duplicate nothing.
type delayedEngine struct {
	*memory.Broker
	mu    sync.Mutex
	rnd   *rand.Rand
	queue []*broker.Publication
	wake  *sync.Cond
	h     broker.Handler
	done  bool
}

func newDelayedEngine(b *memory.Broker) *delayedEngine {
	e := &delayedEngine{Broker: b, rnd: rand.New(rand.NewSource(time.Now().UnixNano()))}
	e.wake = sync.NewCond(&e.mu)
	return e
}

func (e *delayedEngine) pause(max time.Duration) {
	e.mu.Lock()
	d := time.Millisecond + time.Duration(e.rnd.Int63n(int64(max)))
	e.mu.Unlock()
	time.Sleep(d)
}

// Inline hides the memory engine's marker: the server must treat this
// engine as one that blocks.
func (e *delayedEngine) Inline(never) {}

type never struct{}

func (e *delayedEngine) Start(h broker.Handler) error {
	e.h = h
	go e.deliver()
	return e.Broker.Start(e) // the memory engine hands publications to e
}

// OnPublication queues p for later delivery; the memory engine calls it
// under its lock, in seq order.
func (e *delayedEngine) OnPublication(p *broker.Publication) {
	e.mu.Lock()
	e.queue = append(e.queue, p)
	e.mu.Unlock()
	e.wake.Signal()
}

func (e *delayedEngine) deliver() {
	for {
		e.mu.Lock()
		for len(e.queue) == 0 && !e.done {
			e.wake.Wait()
		}
		if e.done {
			e.mu.Unlock()
			return
		}
		batch := e.queue
		e.queue = nil
		e.mu.Unlock()
		e.pause(2 * time.Millisecond)
		for _, p := range batch {
			e.h.OnPublication(p)
		}
	}
}

func (e *delayedEngine) Publish(ctx context.Context, ch string, data []byte, o broker.PublishOptions) (broker.Position, error) {
	e.pause(4 * time.Millisecond)
	return e.Broker.Publish(ctx, ch, data, o)
}

func (e *delayedEngine) History(ctx context.Context, ch string, o broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	e.pause(4 * time.Millisecond)
	return e.Broker.History(ctx, ch, o, dst)
}

func (e *delayedEngine) Subscribe(ctx context.Context, ch string) error {
	e.pause(4 * time.Millisecond)
	return e.Broker.Subscribe(ctx, ch)
}

func (e *delayedEngine) Unsubscribe(ctx context.Context, ch string) error {
	e.pause(4 * time.Millisecond)
	return e.Broker.Unsubscribe(ctx, ch)
}

func (e *delayedEngine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
	e.wake.Broadcast()
	return e.Broker.Close(ctx)
}

// delayedEngines reports whether the tests run on the delayed engine.
func delayedEngines() bool { return os.Getenv("COMET_TEST_ENGINE") == "delayed" }
