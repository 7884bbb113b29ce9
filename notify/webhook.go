package notify

import (
	"bytes"
	"cmp"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Webhook. The zero value of every field but URL means
// the documented default.
type Config struct {
	// URL is the backend endpoint, http or https.
	URL string
	// Secret, if set, signs every request (SignatureHeader).
	Secret []byte
	// Node names this node in the events; "" leaves it out.
	Node string
	// Timeout bounds one attempt. Zero means 5 s; at most 1 min.
	Timeout time.Duration
	// MaxQueue bounds the users with an undelivered event. Zero means
	// 10,000; at most 1,048,576. With at most one event per user queued and
	// one per sender in flight, a Webhook never holds more than
	// MaxQueue+Senders events.
	MaxQueue int
	// Senders is the number of sender goroutines. Zero means 2; at most 64.
	Senders int
	// MaxAttempts bounds the attempts per event, the first included. Zero
	// means 8; at most 100.
	MaxAttempts int
	// MinBackoff is the wait before the first retry; each next one doubles
	// it, up to MaxBackoff, and the actual wait is drawn at random from the
	// upper half (jitter, so that retries from many nodes spread out).
	// Zero means 250 ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between attempts, a Retry-After answer
	// included. Zero means 30 s; at most 10 min.
	MaxBackoff time.Duration
	// Observe, if set, is called on a sender goroutine after every attempt,
	// for logs and tests. It must not block.
	Observe func(Report)
}

// Report describes one attempt to deliver an event.
type Report struct {
	Event   Event
	ID      string // the event's id, as sent
	Attempt int    // 1 for the first attempt
	Status  int    // the HTTP status; 0 when there was no answer
	Err     error  // nil when delivered
	// Final is true when this was the event's last attempt: delivered,
	// refused for good, or out of attempts.
	Final bool
}

// Stats counts a Webhook's work, for metrics.
type Stats struct {
	Queued    int    // users with an undelivered event now
	Sent      uint64 // events delivered (a 2xx answer)
	Retried   uint64 // attempts after an event's first
	Failed    uint64 // events given up: refused (4xx) or out of attempts
	Dropped   uint64 // events dropped: queue full (the oldest), invalid, after Close, or aborted by Close
	Coalesced uint64 // undelivered events replaced by a later one for the same user
}

// Bounds of the configuration.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultMaxQueue    = 10000
	DefaultSenders     = 2
	DefaultMaxAttempts = 8
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// ErrClosed is returned by a second Close.
var ErrClosed = errors.New("notify: webhook closed")

// entry is a queued event.
type entry struct {
	id string
	ev Event
}

// Webhook delivers presence events to a backend.
type Webhook struct {
	url     string
	secret  []byte
	node    string
	timeout time.Duration
	max     int
	tries   int
	minWait time.Duration
	maxWait time.Duration
	observe func(Report)
	client  *http.Client
	idBase  string
	seq     atomic.Uint64

	mu       sync.Mutex
	cond     *sync.Cond               // signalled on a new entry, a finished one, Close and abort
	queue    list.List                // of *entry, oldest first
	pending  map[string]*list.Element // user -> that user's queued entry
	inflight map[string]bool          // users whose event a sender holds
	closing  bool                     // Close was called: take no more, exit when drained
	aborted  bool                     // Close's context ended: exit now

	abort   context.Context // cancelled when aborted, to end requests and waits
	cancel  context.CancelFunc
	senders sync.WaitGroup

	sent, retried, failed, dropped, coalesced atomic.Uint64
}

// New checks c, builds the Webhook and starts its senders.
func New(c Config) (*Webhook, error) {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want an absolute http or https URL", c.URL))
	}
	errs = append(errs,
		checkDuration("timeout", c.Timeout, time.Minute),
		checkDuration("min backoff", c.MinBackoff, 10*time.Minute),
		checkDuration("max backoff", c.MaxBackoff, 10*time.Minute),
		checkInt("max queue", c.MaxQueue, 1<<20),
		checkInt("senders", c.Senders, 64),
		checkInt("max attempts", c.MaxAttempts, 100))
	w := &Webhook{
		url:      c.URL,
		secret:   bytes.Clone(c.Secret),
		node:     c.Node,
		timeout:  cmp.Or(c.Timeout, DefaultTimeout),
		max:      cmp.Or(c.MaxQueue, DefaultMaxQueue),
		tries:    cmp.Or(c.MaxAttempts, DefaultMaxAttempts),
		minWait:  cmp.Or(c.MinBackoff, DefaultMinBackoff),
		maxWait:  cmp.Or(c.MaxBackoff, DefaultMaxBackoff),
		observe:  c.Observe,
		pending:  map[string]*list.Element{},
		inflight: map[string]bool{},
	}
	if w.minWait > w.maxWait {
		errs = append(errs, fmt.Errorf("min backoff %v over max backoff %v", w.minWait, w.maxWait))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	senders := cmp.Or(c.Senders, DefaultSenders)
	w.cond = sync.NewCond(&w.mu)
	w.abort, w.cancel = context.WithCancel(context.Background())
	w.client = &http.Client{
		// Proxy is nil: the webhook goes where it is configured to.
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: w.timeout}).DialContext,
			MaxIdleConnsPerHost:   senders,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   w.timeout,
			ResponseHeaderTimeout: w.timeout,
			ForceAttemptHTTP2:     true,
		},
		// A redirect counts as a refusal: events go where configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	w.idBase = hex.EncodeToString(b[:]) + "-"
	w.senders.Add(senders)
	for range senders {
		go w.sender()
	}
	return w, nil
}

func checkDuration(name string, d, max time.Duration) error {
	if d < 0 || d > max {
		return fmt.Errorf("%s %v out of range [0, %v]", name, d, max)
	}
	return nil
}

func checkInt(name string, n, max int) error {
	if n < 0 || n > max {
		return fmt.Errorf("%s %d out of range [0, %d]", name, n, max)
	}
	return nil
}

// Notify queues e and returns at once. An undelivered event for the same
// user is replaced (its place in the queue is kept); when the queue holds
// MaxQueue users, the oldest event is dropped. After Close, and for an
// event without a user or of an unknown kind, e is dropped.
func (w *Webhook) Notify(e Event) {
	if e.User == "" || (e.Kind != Online && e.Kind != Offline) {
		w.dropped.Add(1)
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	id := w.idBase + strconv.FormatUint(w.seq.Add(1), 36)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		w.dropped.Add(1)
		return
	}
	if el, ok := w.pending[e.User]; ok {
		*el.Value.(*entry) = entry{id: id, ev: e}
		w.coalesced.Add(1)
		return
	}
	if w.queue.Len() >= w.max {
		oldest := w.queue.Front()
		delete(w.pending, oldest.Value.(*entry).ev.User)
		w.queue.Remove(oldest)
		w.dropped.Add(1)
	}
	w.pending[e.User] = w.queue.PushBack(&entry{id: id, ev: e})
	w.cond.Signal()
}

// Stats returns the counters.
func (w *Webhook) Stats() Stats {
	w.mu.Lock()
	queued := w.queue.Len()
	w.mu.Unlock()
	return Stats{Queued: queued, Sent: w.sent.Load(), Retried: w.retried.Load(),
		Failed: w.failed.Load(), Dropped: w.dropped.Load(), Coalesced: w.coalesced.Load()}
}

// Close stops taking events and waits until the queued ones are delivered
// (retries included) or ctx ends; then it aborts the attempts in flight,
// drops what is left (counted in Dropped), and returns ctx's error. Every
// sender goroutine has exited when Close returns.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closing = true
	w.cond.Broadcast()
	w.mu.Unlock()

	done := make(chan struct{})
	go func() { w.senders.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		w.mu.Lock()
		w.aborted = true
		w.dropped.Add(uint64(w.queue.Len()))
		w.queue.Init()
		clear(w.pending)
		w.cond.Broadcast()
		w.mu.Unlock()
		w.cancel()
		<-done
	}
	w.cancel()
	w.client.CloseIdleConnections()
	return err
}
