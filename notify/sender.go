package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// sender delivers events until the webhook is drained after Close, or
// aborted.
func (w *Webhook) sender() {
	defer w.senders.Done()
	for {
		e := w.next()
		if e == nil {
			return
		}
		w.deliver(e)
		w.mu.Lock()
		delete(w.inflight, e.ev.User)
		w.cond.Broadcast() // that user's next event, if queued, may go now
		w.mu.Unlock()
	}
}

// next takes the oldest queued event whose user has no event in flight,
// so that one user's events reach the backend in order. Each user has at
// most one queued event, so at most Senders-1 entries are skipped. It
// returns nil when the sender should exit.
func (w *Webhook) next() *entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.aborted {
			return nil
		}
		for el := w.queue.Front(); el != nil; el = el.Next() {
			e := el.Value.(*entry)
			if w.inflight[e.ev.User] {
				continue
			}
			w.queue.Remove(el)
			delete(w.pending, e.ev.User)
			w.inflight[e.ev.User] = true
			return e
		}
		if w.closing && w.queue.Len() == 0 {
			return nil
		}
		w.cond.Wait()
	}
}

// superseded reports whether a later event for e's user is queued, which
// makes retrying e pointless.
func (w *Webhook) superseded(e *entry) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.pending[e.ev.User]
	return ok
}

// errRefused marks an answer that retrying will not change.
var errRefused = errors.New("notify: refused by the backend")

// deliver makes the attempts for one event.
func (w *Webhook) deliver(e *entry) {
	body, err := e.body(w.node)
	if err != nil { // cannot happen for these field types; counted, not hidden
		w.failed.Add(1)
		return
	}
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			w.retried.Add(1)
		}
		status, retryAfter, err := w.post(body, e)
		final := err == nil || errors.Is(err, errRefused) || attempt >= w.tries || w.abort.Err() != nil
		if w.observe != nil {
			w.observe(Report{Event: e.ev, ID: e.id, Attempt: attempt, Status: status, Err: err, Final: final})
		}
		switch {
		case err == nil:
			w.sent.Add(1)
			return
		case w.abort.Err() != nil:
			w.dropped.Add(1)
			return
		case final:
			w.failed.Add(1)
			return
		}
		t := time.NewTimer(backoff(attempt, w.minWait, w.maxWait, retryAfter, rand.Int64N))
		select {
		case <-t.C:
		case <-w.abort.Done():
			t.Stop()
			w.dropped.Add(1)
			return
		}
		if w.superseded(e) {
			w.coalesced.Add(1)
			return
		}
	}
}

// post makes one attempt. It returns the status, the Retry-After the
// backend asked for, and nil for a 2xx answer, an error wrapping
// errRefused for an answer not worth retrying (a 4xx other than 408 and
// 429, a redirect), and another error for anything to retry.
func (w *Webhook) post(body []byte, e *entry) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(w.abort, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errRefused, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "comet-webhook")
	req.Header.Set("X-Comet-Event", e.ev.Kind.String())
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, sign(w.secret, body, time.Now()))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	// Drain a little so that the connection can be reused; never more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	s := resp.StatusCode
	switch {
	case s >= 200 && s < 300:
		return s, 0, nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return s, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("notify: backend answered %d", s)
	}
	return s, 0, fmt.Errorf("%w: answered %d", errRefused, s)
}

// retryAfter reads a Retry-After of delay-seconds (RFC 9110 §10.2.3);
// the HTTP-date form is ignored.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

// backoff is the wait after failed attempt n (1-based): min·2^(n-1),
// capped at max, drawn at random from its upper half; at least the
// backend's Retry-After, still capped at max. randN(k) returns a number
// in [0, k).
func backoff(n int, minWait, maxWait, after time.Duration, randN func(int64) int64) time.Duration {
	d := minWait
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	if half := int64(d / 2); half > 0 {
		d = time.Duration(half + randN(half+1))
	}
	return min(max(d, after), maxWait)
}
