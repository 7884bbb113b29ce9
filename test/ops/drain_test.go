//go:build unix

package ops

import (
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comet-im/comet/internal/testredis"
	"github.com/gorilla/websocket"
)

// drainClient is a subscriber that follows a drain: it records when its
// node closed it and with which code, reconnects to the other node from
// its position, and keeps every seq it receives.
type drainClient struct {
	mu       sync.Mutex
	seqs     map[uint64]int
	epoch    string
	last     uint64
	closedAt time.Time
	code     int
	moved    chan struct{} // closed once subscribed on the second node
	err      error
}

const drainChannel = "room:drain"

// TestDrainSpreadsClosesAndLosesNothing: node A of a two-node fleet on
// Redis drains while the backend publishes through node B. A turns
// unready first, waits drain-delay, then closes its WebSockets with 1001
// spread over drain-window; each client reconnects to B with its
// position and ends up with every acknowledged message exactly once.
func TestDrainSpreadsClosesAndLosesNothing(t *testing.T) {
	t.Parallel()
	const (
		clients = 30
		delay   = 500 * time.Millisecond
		window  = 3 * time.Second
	)
	r := testredis.Start(t, testredis.Options{})
	engine := []string{"-engine", "redis", "-redis-addrs", r.Addr(), "-api-key", apiKey}
	a := startNode(t, append(engine, "-drain-delay", delay.String(), "-drain-window", window.String())...)
	b := startNode(t, engine...)

	cs := make([]*drainClient, clients)
	for i := range cs {
		c := &drainClient{seqs: map[uint64]int{}, moved: make(chan struct{})}
		cs[i] = c
		w := dialWS(t, a.URL(), nil)
		sub := w.subscribe(t, drainChannel)
		c.epoch, c.last = sub.Epoch, sub.Seq
		go c.follow(t, w, b)
	}

	// The backend publishes through B all along; acked holds the seqs it
	// was answered.
	var (
		ackMu sync.Mutex
		acked []uint64
	)
	stopPub := make(chan struct{})
	pubDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopPub:
				pubDone <- nil
				return
			case <-time.After(20 * time.Millisecond):
			}
			seq, err := b.publish(t, drainChannel, fmt.Sprintf(`{"n":%d}`, i))
			if err != nil {
				pubDone <- err
				return
			}
			ackMu.Lock()
			acked = append(acked, seq)
			ackMu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond) // some traffic before the drain

	// Readiness is watched from the signal on.
	unready := make(chan time.Time, 1)
	go func() {
		for end := time.Now().Add(waitTimeout); time.Now().Before(end); {
			resp, err := client.Get(a.AdminURL() + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 503 {
					unready <- time.Now()
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sigAt := time.Now()
	a.signal(t, syscall.SIGTERM)
	for i, c := range cs {
		select {
		case <-c.moved:
		case <-time.After(window + 3*delay + waitTimeout):
			t.Fatalf("client %d never moved to node B: %v", i, c.err)
		}
		if c.err != nil {
			t.Fatalf("client %d: %v", i, c.err)
		}
	}
	time.Sleep(200 * time.Millisecond) // traffic after every client moved
	close(stopPub)
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	var unreadyAt time.Time
	select {
	case unreadyAt = <-unready:
	default:
		t.Fatal("/readyz never answered 503 during the drain")
	}

	closes := make([]time.Time, 0, clients)
	for _, c := range cs {
		if c.code != websocket.CloseGoingAway {
			t.Errorf("closed with %d, want 1001", c.code)
		}
		closes = append(closes, c.closedAt)
	}
	sort.Slice(closes, func(i, j int) bool { return closes[i].Before(closes[j]) })
	first, last := closes[0], closes[len(closes)-1]
	t.Logf("unready %v after the signal; closes from %v to %v after it",
		unreadyAt.Sub(sigAt).Round(time.Millisecond), first.Sub(sigAt).Round(time.Millisecond), last.Sub(sigAt).Round(time.Millisecond))
	if !unreadyAt.Before(first) {
		t.Errorf("unready at %v, after the first close at %v", unreadyAt.Sub(sigAt), first.Sub(sigAt))
	}
	// Generous bounds: a loaded machine delays things, it does not bunch
	// a window of closes into an instant.
	if d := first.Sub(sigAt); d < delay*6/10 {
		t.Errorf("the first close came %v after the signal, before the %v delay", d, delay)
	}
	if spread := last.Sub(first); spread < window/2 || spread > window+5*time.Second {
		t.Errorf("closes spread over %v, want about %v", spread, window)
	}
	buckets := map[int64]bool{}
	for _, c := range closes {
		buckets[int64(c.Sub(first)/(window/6))] = true
	}
	if len(buckets) < 4 {
		t.Errorf("closes fell in %d of 6 slices of the window: %v", len(buckets), closes)
	}

	// Every acknowledged message reached every client, once.
	ackMu.Lock()
	want := append([]uint64(nil), acked...)
	ackMu.Unlock()
	if len(want) < 20 {
		t.Fatalf("only %d messages were published", len(want))
	}
	deadline := time.Now().Add(waitTimeout)
	for i, c := range cs {
		for {
			c.mu.Lock()
			missing := 0
			for _, s := range want {
				if c.seqs[s] == 0 {
					missing++
				}
			}
			dups := 0
			for _, k := range c.seqs {
				if k > 1 {
					dups++
				}
			}
			err := c.err
			c.mu.Unlock()
			if dups > 0 {
				t.Fatalf("client %d got %d messages twice", i, dups)
			}
			if missing == 0 {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("client %d lacks %d of %d acknowledged messages (err %v)", i, missing, len(want), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// follow reads from node A until it closes, then resubscribes on b from
// the last position and reads on until the test ends.
func (c *drainClient) follow(t *testing.T, w *wsClient, b *node) {
	fail := func(err error) {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}
	for {
		f, err := w.read(time.Minute)
		if err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok {
				fail(fmt.Errorf("node A: %w", err))
				close(c.moved)
				return
			}
			c.mu.Lock()
			c.closedAt, c.code = time.Now(), ce.Code
			c.mu.Unlock()
			break
		}
		c.take(f)
	}
	w2, err := tryDialWS(b.URL(), nil)
	if err != nil {
		fail(err)
		close(c.moved)
		return
	}
	t.Cleanup(func() { w2.c.Close() })
	c.mu.Lock()
	sub := fmt.Sprintf(`{"op":"sub","ch":%q,"since":%d,"epoch":%q,"id":"again"}`, drainChannel, c.last, c.epoch)
	c.mu.Unlock()
	if err := w2.c.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
		fail(err)
		close(c.moved)
		return
	}
	moved := false
	for {
		f, err := w2.read(time.Minute)
		if err != nil {
			if !moved {
				fail(fmt.Errorf("node B: %w", err))
				close(c.moved)
			}
			return
		}
		if f.ID == "again" && !moved {
			if f.Op != "sub" || f.Recovered == nil || !*f.Recovered {
				fail(fmt.Errorf("node B answered the resubscribe with %+v", f))
			}
			moved = true
			close(c.moved)
			continue
		}
		c.take(f)
	}
}

func (c *drainClient) take(f frame) {
	if f.Op != "msg" || f.Ch != drainChannel {
		return
	}
	c.mu.Lock()
	c.seqs[f.Seq]++
	c.last = f.Seq
	if f.Epoch != "" {
		c.epoch = f.Epoch
	}
	c.mu.Unlock()
}
