package server

import (
	"context"
	"errors"
	"hash/maphash"
	"runtime"
	"sync"
	"testing"

	"github.com/comet-im/comet/broker"
)

// unsubRecorder is an engine that records Unsubscribe calls; the sweep
// makes no other.
type unsubRecorder struct {
	broker.Broker
	mu    sync.Mutex
	unsub []string
}

func (u *unsubRecorder) Unsubscribe(_ context.Context, ch string) error {
	u.mu.Lock()
	u.unsub = append(u.unsub, ch)
	u.mu.Unlock()
	return nil
}

// TestInterestLifecycle walks one channel's interest through two loops:
// the first add creates the record, the second shares it; masks follow;
// an idle, settled interest is swept and unsubscribed once; the next add
// creates a fresh one.
func TestInterestLifecycle(t *testing.T) {
	var in interests
	in.init()
	name := []byte("room")
	a, created := in.add(string(name), 1)
	if !created || a.it != &a.interest {
		t.Fatalf("first add: created %v, it %p (want its own %p)", created, a.it, &a.interest)
	}
	name[0] = 'X' // add copied the name it keeps
	b, created := in.add("room", 2)
	if created || b != a || in.mask("room") != 3 {
		t.Fatalf("second add: created %v, same %v, mask %b", created, b == a, in.mask("room"))
	}
	in.settle(a.it, nil)
	eng := &unsubRecorder{}
	in.remove(a.it, 1, 100)
	in.remove(a.it, 2, 200)
	if m := in.mask("room"); m != 0 {
		t.Fatalf("mask %b after both loops left", m)
	}
	in.sweep(context.Background(), eng, 150, nil) // idle since 200: kept
	if active, lingering := in.count(); active != 0 || lingering != 1 {
		t.Fatalf("before the linger: %d active, %d lingering", active, lingering)
	}
	in.sweep(context.Background(), eng, 250, nil)
	if active, lingering := in.count(); active != 0 || lingering != 0 || len(eng.unsub) != 1 || eng.unsub[0] != "room" {
		t.Fatalf("after the sweep: %d active, %d lingering, unsubscribed %q", active, lingering, eng.unsub)
	}
	if c, created := in.add("room", 1); !created || c == a {
		t.Fatalf("add after the sweep: created %v, same record %v", created, c == a)
	}
}

// TestInterestAwait: joins that wait for the engine subscription wake
// when it is settled, with its error when it failed; a failed interest
// leaves the index (the next join makes a fresh one) and is never
// unsubscribed; a join that comes after the failure gets it at once.
func TestInterestAwait(t *testing.T) {
	var in interests
	in.init()
	rec, _ := in.add("c", 1)
	in.add("c", 2)
	boom := errors.New("engine down")
	const waiters = 4
	errs := make(chan error, waiters)
	for range waiters {
		go func() { errs <- in.await(context.Background(), rec.it) }()
	}
	// Wait until a waiter made the wait record, so the failure wakes it.
	for readWait(&in, rec.it) == nil {
		runtime.Gosched()
	}
	in.fail(rec.it, boom)
	for range waiters {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("waiter got %v, want %v", err, boom)
		}
	}
	if err := in.await(context.Background(), rec.it); !errors.Is(err, boom) {
		t.Fatalf("late join got %v, want %v", err, boom)
	}
	if fresh, created := in.add("c", 1); !created || fresh == rec {
		t.Fatalf("add after the failure: created %v, same record %v", created, fresh == rec)
	}
	in.remove(rec.it, 1, 1)
	in.remove(rec.it, 2, 1)
	eng := &unsubRecorder{}
	in.sweep(context.Background(), eng, 10, nil)
	if len(eng.unsub) != 0 {
		t.Fatalf("the sweep unsubscribed %q: the failed interest held nothing, the fresh one is in use", eng.unsub)
	}

	ok, _ := in.add("d", 1)
	in.settle(ok.it, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := in.await(ctx, ok.it); err != nil {
		t.Fatalf("await of a settled interest: %v", err)
	}
}

// readWait returns it's wait record, read under its shard's lock.
func readWait(in *interests, it *interest) *interestWait {
	sh := in.shard(maphash.String(in.seed, it.name))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return it.wait
}
