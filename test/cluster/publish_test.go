//go:build unix

package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// apiPub publishes with POST /api/publish and an idempotency key. A
// publish that fails (a node killed under it, Redis down) is retried with
// the same key until it is acknowledged, so the ledger holds one seq per
// payload however many tries it took.
type apiPub struct {
	target target
	client *http.Client

	mu       sync.Mutex
	statuses map[int]int // answers seen, by status (0: no answer)
}

func newAPIPub(tg target, tlsConf *tls.Config) *apiPub {
	c := httpClient(tlsConf)
	c.Timeout = 10 * time.Second
	return &apiPub{target: tg, client: c, statuses: map[int]int{}}
}

// apiResult is /api/publish's answer.
type apiResult struct {
	Seq   uint64 `json:"seq"`
	Epoch string `json:"epoch"`
	Code  int    `json:"code"`
}

// once sends one publish and returns the status and the answer.
func (p *apiPub) once(ctx context.Context, ch, id string) (int, apiResult, error) {
	var r apiResult
	body, _ := json.Marshal(map[string]any{"channel": ch, "data": payload{P: id}, "idempotency_key": id})
	req, err := http.NewRequestWithContext(ctx, "POST", p.target()+"/api/publish", bytes.NewReader(body))
	if err != nil {
		return 0, r, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := p.client.Do(req)
	if err != nil {
		p.count(0)
		return 0, r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	p.count(resp.StatusCode)
	if err != nil {
		return resp.StatusCode, r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return resp.StatusCode, r, fmt.Errorf("answer %s %q: %w", resp.Status, b, err)
	}
	if resp.StatusCode == 200 && r.Seq == 0 {
		return resp.StatusCode, r, fmt.Errorf("200 without a seq: %s", b)
	}
	return resp.StatusCode, r, nil
}

func (p *apiPub) count(status int) {
	p.mu.Lock()
	p.statuses[status]++
	p.mu.Unlock()
}

// Statuses returns how many answers of each status the publisher got.
func (p *apiPub) Statuses() map[int]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]int{}
	for k, v := range p.statuses {
		out[k] = v
	}
	return out
}

// publish retries once until ctx ends and returns the acknowledged seq.
func (p *apiPub) publish(ctx context.Context, ch, id string) (uint64, error) {
	var last error
	for attempt := 0; ctx.Err() == nil; attempt++ {
		status, r, err := p.once(ctx, ch, id)
		if err == nil && status == 200 {
			return r.Seq, nil
		}
		last = fmt.Errorf("status %d: %v", status, err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff(attempt)):
		}
	}
	return 0, fmt.Errorf("publish %s on %s: %w (last: %v)", id, ch, ctx.Err(), last)
}

// publisher is what the tests publish through: the API or a WebSocket.
type publisher interface {
	publish(ctx context.Context, ch, id string) (uint64, error)
}

// publishAll publishes n messages on each channel from each publisher,
// every publisher concurrently, round robin over the channels, and records
// every acknowledgement in l. pace, if set, is called by each publisher
// before its k-th publish (a test hooks events to message counts there). It fails the test when a
// publish cannot be acknowledged within the deadline.
func publishAll(t *testing.T, l *ledger, pubs map[string]publisher, channels []string, n int, pace func(pub string, k int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(pubs))
	for name, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range n * len(channels) {
				if pace != nil {
					pace(name, k)
				}
				ch := channels[k%len(channels)]
				id := fmt.Sprintf("%s-%d", name, k)
				seq, err := p.publish(ctx, ch, id)
				if err != nil {
					errs <- err
					return
				}
				l.ack(ch, seq, id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// sendPub publishes with POST /send, the HTTP transports' up-channel: the
// body is the WebSocket protocol's pub, with an idempotency key.
type sendPub struct {
	target target
	client *http.Client
	n      int
}

func newSendPub(tg target) *sendPub {
	c := httpClient(nil)
	c.Timeout = 10 * time.Second
	return &sendPub{target: tg, client: c}
}

func (p *sendPub) publish(ctx context.Context, ch, id string) (uint64, error) {
	p.n++
	body, _ := json.Marshal(map[string]any{"op": "pub", "ch": ch, "data": payload{P: id}, "id": fmt.Sprintf("p%d", p.n), "idem": id})
	var last error
	for attempt := 0; ctx.Err() == nil; attempt++ {
		seq, err := p.try(ctx, body)
		if err == nil {
			return seq, nil
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(backoff(attempt)):
		}
	}
	return 0, fmt.Errorf("send %s on %s: %w (last: %v)", id, ch, ctx.Err(), last)
}

func (p *sendPub) try(ctx context.Context, body []byte) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", p.target()+"/send", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var ev event
	if resp.StatusCode != 200 || json.Unmarshal(b, &ev) != nil || ev.Op != "ok" || ev.Seq == 0 {
		return 0, fmt.Errorf("POST /send: %s %s", resp.Status, bytes.TrimSpace(b))
	}
	return ev.Seq, nil
}
