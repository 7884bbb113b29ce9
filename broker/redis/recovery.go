package redis

import (
	"context"
	"sync"

	"github.com/comet-im/comet/broker"
)

// recoveryReaders is how many goroutines run history reads for the
// dispatchers. rueidis pipelines their concurrent calls on its shared
// connections, so after a reconnect thousands of channels catch up in a
// few round trips' time.
const recoveryReaders = 8

type readRequest struct {
	st    *chanState
	after uint64
	epoch string
	limit int
}

type readResult struct {
	pubs  []*broker.Publication
	state broker.StreamState
	limit int
	err   error
}

// recoveryQueue holds read requests. A dispatcher must never wait on it
// (a reader may be waiting on the dispatcher's queue), so it is a list
// with no bound of its own: a channel has at most one request in it, so
// it never holds more than the node's channels.
type recoveryQueue struct {
	mu    sync.Mutex
	items []readRequest
	wake  chan struct{}
}

func (q *recoveryQueue) init() { q.wake = make(chan struct{}, 1) }

func (q *recoveryQueue) push(r readRequest) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest request, waiting for one; false once done closes.
func (q *recoveryQueue) pop(done <-chan struct{}) (readRequest, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items[0] = readRequest{}
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil // let a burst's backing array go
			} else {
				select { // more left: wake another reader
				case q.wake <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return r, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-done:
			return readRequest{}, false
		}
	}
}

func (b *Broker) recoveryReader() {
	defer b.wg.Done()
	for {
		req, ok := b.queue.pop(b.done)
		if !ok {
			return
		}
		b.counts.recoveries.Add(1)
		ctx, cancel := b.withTimeout(context.Background())
		pubs, state, err := b.readStream(ctx, req.st.name, req.after, req.limit, req.epoch, nil)
		cancel()
		req.st.d.post(event{kind: evRead, st: req.st, read: &readResult{pubs: pubs, state: state, limit: req.limit, err: err}})
	}
}
