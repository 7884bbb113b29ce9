package brokertest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// WaitTimeout bounds every wait for a delivery. Generous: CI runs on two
// busy cores, and a wait that succeeds returns as soon as it can.
const WaitTimeout = 20 * time.Second

// Recorder is a broker.Handler that keeps what it is given, per channel,
// and checks the Handler contract as it goes: one call at a time per
// channel, stored publications in increasing seq order.
type Recorder struct {
	mu       sync.Mutex
	pubs     map[string][]*broker.Publication
	inCall   map[string]bool
	problems []string
	changed  chan struct{} // closed and replaced on every delivery
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{
		pubs:    make(map[string][]*broker.Publication),
		inCall:  make(map[string]bool),
		changed: make(chan struct{}),
	}
}

// OnPublication records p.
func (r *Recorder) OnPublication(p *broker.Publication) {
	r.mu.Lock()
	if r.inCall[p.Channel] {
		r.problems = append(r.problems, fmt.Sprintf("%s: two deliveries at once", p.Channel))
	}
	r.inCall[p.Channel] = true
	list := r.pubs[p.Channel]
	if p.Seq != 0 {
		for i := len(list) - 1; i >= 0; i-- {
			if q := list[i]; q.Seq != 0 {
				if q.Epoch == p.Epoch && q.Seq >= p.Seq {
					r.problems = append(r.problems, fmt.Sprintf("%s: seq %d delivered after %d", p.Channel, p.Seq, q.Seq))
				}
				break
			}
		}
	}
	r.pubs[p.Channel] = append(list, p)
	r.mu.Unlock()

	// The handler contract: quick and non-blocking. Yield once, so that a
	// second concurrent call for the channel would be caught above.
	runtime.Gosched()
	r.mu.Lock()
	r.inCall[p.Channel] = false
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Got returns a copy of what channel received so far.
func (r *Recorder) Got(channel string) []*broker.Publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*broker.Publication(nil), r.pubs[channel]...)
}

// Wait returns what channel received once it holds at least n
// publications, failing the test after WaitTimeout.
func (r *Recorder) Wait(t testing.TB, channel string, n int) []*broker.Publication {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, changed := len(r.pubs[channel]), r.changed
		r.mu.Unlock()
		if got >= n {
			return r.Got(channel)
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s: %d publications delivered after %v, want %d", channel, got, WaitTimeout, n)
		}
	}
}

// Check fails the test with every contract violation seen.
func (r *Recorder) Check(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Error(p)
	}
}
