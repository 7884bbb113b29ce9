package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wait is the deadline of every wait for an event in these tests: long
// enough for a loaded machine, short enough to fail a hang quickly.
const wait = 20 * time.Second

// received is what the test backend got.
type received struct {
	payload payload
	header  http.Header
	body    []byte
}

// recorder is a real HTTP backend: it records each request and answers
// with the status decide returns (200 when decide is nil).
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received // answered 2xx
	all    int        // every request
	decide func(n int, p payload, r *http.Request) int
	events chan received // every request, as it arrives
}

func newRecorder(t *testing.T, decide func(n int, p payload, r *http.Request) int) *recorder {
	t.Helper()
	rec := &recorder{decide: decide, events: make(chan received, 10000)}
	rec.srv = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	got := received{payload: p, header: r.Header.Clone(), body: body}
	rec.mu.Lock()
	rec.all++
	n := rec.all
	rec.mu.Unlock()
	rec.events <- got
	status := http.StatusOK
	if rec.decide != nil {
		status = rec.decide(n, p, r)
	}
	if status >= 200 && status < 300 {
		rec.mu.Lock()
		rec.got = append(rec.got, got)
		rec.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (rec *recorder) delivered() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.got...)
}

func (rec *recorder) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rec.events:
		return r
	case <-time.After(wait):
		t.Fatal("no request reached the backend")
		return received{}
	}
}

func newWebhook(t *testing.T, c Config) *Webhook {
	t.Helper()
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		w.Close(ctx)
	})
	return w
}

func closeWebhook(t *testing.T, w *Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// reports collects Observe reports on a channel.
func reports() (func(Report), chan Report) {
	ch := make(chan Report, 10000)
	return func(r Report) {
		select {
		case ch <- r:
		default:
		}
	}, ch
}

func nextReport(t *testing.T, ch chan Report) Report {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(wait):
		t.Fatal("no attempt was reported")
		return Report{}
	}
}

var at = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestDelivered(t *testing.T) {
	rec := newRecorder(t, nil)
	secret := []byte("webhook secret")
	w := newWebhook(t, Config{URL: rec.srv.URL, Secret: secret, Node: "n1"})
	w.Notify(Event{Kind: Offline, User: "alice", At: at})
	r := rec.next(t)
	p := r.payload
	if p.Event != "offline" || p.User != "alice" || p.At != at.UnixMilli() || p.Connections != 0 || p.Node != "n1" || p.ID == "" {
		t.Fatalf("payload %+v", p)
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Comet-Event") != "offline" {
		t.Fatalf("headers %v", r.header)
	}
	if err := VerifySignature(secret, r.header.Get(SignatureHeader), r.body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v (%s)", err, r.header.Get(SignatureHeader))
	}
	if err := VerifySignature([]byte("other"), r.header.Get(SignatureHeader), r.body, time.Now(), time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature with the wrong secret: %v", err)
	}
	if err := VerifySignature(secret, r.header.Get(SignatureHeader), append(r.body, ' '), time.Now(), time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature over another body: %v", err)
	}
	if err := VerifySignature(secret, r.header.Get(SignatureHeader), r.body, time.Now().Add(time.Hour), time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("replayed an hour later: %v", err)
	}
	closeWebhook(t, w)
	if s := w.Stats(); s.Sent != 1 || s.Retried != 0 || s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Unsigned without a secret.
	rec2 := newRecorder(t, nil)
	w2 := newWebhook(t, Config{URL: rec2.srv.URL})
	w2.Notify(Event{Kind: Online, User: "bob", Connections: 2})
	if r := rec2.next(t); r.header.Get(SignatureHeader) != "" || r.payload.Connections != 2 || r.payload.Event != "online" {
		t.Fatalf("unsigned request %+v %v", r.payload, r.header)
	}
}

func TestFailingThenUp(t *testing.T) {
	rec := newRecorder(t, func(n int, _ payload, _ *http.Request) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w := newWebhook(t, Config{URL: rec.srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 10})
	w.Notify(Event{Kind: Offline, User: "alice"})
	closeWebhook(t, w) // drains, retries included
	got := rec.delivered()
	if len(got) != 1 || got[0].payload.User != "alice" {
		t.Fatalf("delivered %+v", got)
	}
	if s := w.Stats(); s.Sent != 1 || s.Retried != 3 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the backend is down: connections are refused
	// The second attempt's report holds its sender until the backend is
	// up again, so that the attempts cannot run out before it is.
	up := make(chan struct{})
	attempts := make(chan Report, 100)
	observe := func(r Report) {
		attempts <- r
		if r.Attempt == 2 {
			<-up
		}
	}
	w := newWebhook(t, Config{URL: "http://" + addr + "/presence", MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxAttempts: 3, Observe: observe})
	w.Notify(Event{Kind: Offline, User: "alice"})
	for i := 0; i < 2; i++ {
		if r := nextReport(t, attempts); r.Err == nil || r.Final {
			t.Fatalf("attempt against a closed port: %+v", r)
		}
	}
	// The backend comes up on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen again on %s: %v", addr, err)
	}
	rec := &recorder{events: make(chan received, 100)}
	srv := &http.Server{Handler: http.HandlerFunc(rec.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	close(up)
	if r := rec.next(t); r.payload.User != "alice" {
		t.Fatalf("payload %+v", r.payload)
	}
	closeWebhook(t, w)
	if got := rec.delivered(); len(got) != 1 {
		t.Fatalf("delivered %d times", len(got))
	}
	if s := w.Stats(); s.Sent != 1 || s.Retried != 2 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// blocking returns a decide function that holds the first request until
// release is closed.
func blocking(release chan struct{}) func(int, payload, *http.Request) int {
	return func(n int, _ payload, r *http.Request) int {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return http.StatusOK
	}
}

func TestQueueOverflow(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(t, blocking(release))
	w := newWebhook(t, Config{URL: rec.srv.URL, Senders: 1, MaxQueue: 10})
	w.Notify(Event{Kind: Offline, User: "first"})
	rec.next(t) // the only sender is now held by the backend
	for i := range 1000 {
		w.Notify(Event{Kind: Offline, User: "u" + strconv.Itoa(i)})
		if q := w.Stats().Queued; q > 10 {
			t.Fatalf("queue holds %d events, bound 10", q)
		}
	}
	if s := w.Stats(); s.Queued != 10 || s.Dropped != 990 {
		t.Fatalf("stats %+v, want 10 queued and 990 dropped", s)
	}
	close(release)
	closeWebhook(t, w)
	got := rec.delivered()
	if len(got) != 11 {
		t.Fatalf("delivered %d, want 11", len(got))
	}
	// The oldest were dropped: the last ten remain, in order.
	for i, r := range got[1:] {
		if want := "u" + strconv.Itoa(990+i); r.payload.User != want {
			t.Fatalf("delivered #%d is %q, want %q", i+1, r.payload.User, want)
		}
	}
	if s := w.Stats(); s.Sent != 11 || s.Dropped != 990 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCoalescePerUser(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(t, blocking(release))
	w := newWebhook(t, Config{URL: rec.srv.URL, Senders: 1})
	w.Notify(Event{Kind: Online, User: "first"})
	rec.next(t)
	w.Notify(Event{Kind: Online, User: "alice"})
	w.Notify(Event{Kind: Online, User: "bob"})
	w.Notify(Event{Kind: Offline, User: "alice"})
	w.Notify(Event{Kind: Online, User: "alice", Connections: 1})
	if s := w.Stats(); s.Queued != 2 || s.Coalesced != 2 {
		t.Fatalf("stats %+v", s)
	}
	close(release)
	closeWebhook(t, w)
	var seq []string
	for _, r := range rec.delivered() {
		seq = append(seq, r.payload.User+":"+r.payload.Event)
	}
	// alice keeps her place and her latest state.
	if got := strings.Join(seq, " "); got != "first:online alice:online bob:online" {
		t.Fatalf("delivered %s", got)
	}
	if got := rec.delivered()[1].payload.Connections; got != 1 {
		t.Fatalf("alice's event is not her latest: connections %d", got)
	}
}

func TestOneUserInOrder(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	rec := newRecorder(t, func(n int, p payload, r *http.Request) int {
		if p.User == "alice" && p.Event == "online" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		mu.Lock()
		order = append(order, p.User+":"+p.Event)
		mu.Unlock()
		return http.StatusOK
	})
	w := newWebhook(t, Config{URL: rec.srv.URL, Senders: 4})
	w.Notify(Event{Kind: Online, User: "alice"})
	if r := rec.next(t); r.payload.User != "alice" {
		t.Fatalf("first request %+v", r.payload)
	}
	w.Notify(Event{Kind: Offline, User: "alice"})
	w.Notify(Event{Kind: Online, User: "bob"})
	// Bob goes past on another sender; alice's offline waits for her online.
	if r := rec.next(t); r.payload.User != "bob" {
		t.Fatalf("a second event for alice was sent while her first was in flight: %+v", r.payload)
	}
	close(release)
	closeWebhook(t, w)
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(order, " "); got != "bob:online alice:online alice:offline" {
		t.Fatalf("order %s", got)
	}
}

func TestSupersededWhileRetrying(t *testing.T) {
	// The backend refuses online events and takes offline ones; the second
	// online attempt is held until the offline event is queued, so the
	// retry after it finds itself superseded.
	queued := make(chan struct{})
	rec := newRecorder(t, func(n int, p payload, r *http.Request) int {
		if p.Event == "online" {
			if n == 2 {
				select {
				case <-queued:
				case <-r.Context().Done():
				}
			}
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w := newWebhook(t, Config{URL: rec.srv.URL, Senders: 1, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 5})
	w.Notify(Event{Kind: Online, User: "alice"})
	rec.next(t)
	rec.next(t) // the second attempt, now held
	w.Notify(Event{Kind: Offline, User: "alice"})
	close(queued)
	closeWebhook(t, w)
	got := rec.delivered()
	if len(got) != 1 || got[0].payload.Event != "offline" {
		t.Fatalf("delivered %+v", got)
	}
	if s := w.Stats(); s.Sent != 1 || s.Coalesced != 1 || s.Failed != 0 || s.Retried != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRefusedAndGivenUp(t *testing.T) {
	rec := newRecorder(t, func(_ int, p payload, _ *http.Request) int {
		if p.User == "refused" {
			return http.StatusBadRequest
		}
		return http.StatusInternalServerError
	})
	observe, attempts := reports()
	w := newWebhook(t, Config{URL: rec.srv.URL, Senders: 1, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 3, Observe: observe})
	w.Notify(Event{Kind: Offline, User: "refused"})
	if r := nextReport(t, attempts); r.Status != 400 || !r.Final || r.Attempt != 1 {
		t.Fatalf("a 400 must not be retried: %+v", r)
	}
	w.Notify(Event{Kind: Offline, User: "broken"})
	for i := 1; i <= 3; i++ {
		r := nextReport(t, attempts)
		if r.Status != 500 || r.Attempt != i || r.Final != (i == 3) {
			t.Fatalf("attempt %d: %+v", i, r)
		}
	}
	closeWebhook(t, w)
	if s := w.Stats(); s.Failed != 2 || s.Retried != 2 || s.Sent != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSlowBackendTimesOut(t *testing.T) {
	rec := newRecorder(t, func(n int, _ payload, r *http.Request) int {
		if n == 1 {
			<-r.Context().Done() // held past the webhook's timeout
		}
		return http.StatusOK
	})
	observe, attempts := reports()
	w := newWebhook(t, Config{URL: rec.srv.URL, Timeout: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Observe: observe})
	w.Notify(Event{Kind: Offline, User: "alice"})
	if r := nextReport(t, attempts); !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("first attempt %+v", r)
	}
	closeWebhook(t, w)
	if s := w.Stats(); s.Sent != 1 || s.Retried != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloseAborts(t *testing.T) {
	rec := newRecorder(t, func(_ int, _ payload, r *http.Request) int {
		<-r.Context().Done() // never answers
		return http.StatusOK
	})
	w, err := New(Config{URL: rec.srv.URL, Senders: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(Event{Kind: Offline, User: "a"})
	rec.next(t)
	w.Notify(Event{Kind: Offline, User: "b"})
	w.Notify(Event{Kind: Offline, User: "c"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to drain
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	// a was in flight, b and c queued: all three are dropped.
	if s := w.Stats(); s.Dropped != 3 || s.Sent != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	w.Notify(Event{Kind: Online, User: "late"})
	if s := w.Stats(); s.Dropped != 4 || s.Queued != 0 {
		t.Fatalf("after Close: %+v", s)
	}
	if err := w.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestInvalidEventsDropped(t *testing.T) {
	rec := newRecorder(t, nil)
	w := newWebhook(t, Config{URL: rec.srv.URL})
	w.Notify(Event{Kind: Online})
	w.Notify(Event{Kind: Kind(9), User: "x"})
	if s := w.Stats(); s.Dropped != 2 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBackoff(t *testing.T) {
	top := func(k int64) int64 { return k - 1 }
	bottom := func(int64) int64 { return 0 }
	ms := time.Millisecond
	cases := []struct {
		n        int
		min, max time.Duration
		after    time.Duration
		rand     func(int64) int64
		want     time.Duration
	}{
		{1, 100 * ms, time.Second, 0, top, 100 * ms},
		{1, 100 * ms, time.Second, 0, bottom, 50 * ms},
		{2, 100 * ms, time.Second, 0, top, 200 * ms},
		{3, 100 * ms, time.Second, 0, bottom, 200 * ms},
		{5, 100 * ms, time.Second, 0, top, time.Second},  // capped
		{99, 100 * ms, time.Second, 0, top, time.Second}, // no overflow
		{1, 100 * ms, time.Second, 500 * ms, bottom, 500 * ms},
		{1, 100 * ms, time.Second, time.Hour, bottom, time.Second}, // Retry-After capped
	}
	for _, c := range cases {
		if got := backoff(c.n, c.min, c.max, c.after, c.rand); got != c.want {
			t.Errorf("backoff(%d, %v, %v, %v) = %v, want %v", c.n, c.min, c.max, c.after, got, c.want)
		}
	}
	if retryAfter("3") != 3*time.Second || retryAfter("-1") != 0 || retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") != 0 {
		t.Error("retryAfter")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, c := range map[string]Config{
		"no url":           {},
		"relative":         {URL: "/x"},
		"timeout":          {URL: "http://127.0.0.1/", Timeout: time.Hour},
		"queue":            {URL: "http://127.0.0.1/", MaxQueue: -1},
		"senders":          {URL: "http://127.0.0.1/", Senders: 65},
		"attempts":         {URL: "http://127.0.0.1/", MaxAttempts: 101},
		"backoff inverted": {URL: "http://127.0.0.1/", MinBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		if _, err := New(c); err == nil || !strings.HasPrefix(err.Error(), "notify: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
