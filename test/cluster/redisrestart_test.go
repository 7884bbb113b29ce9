//go:build unix

package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRedisRestarted: Redis (AOF, appendfsync always) killed with SIGKILL
// mid-conversation and started again. While it is down every node's
// /healthz answers 503 and every publish fails with a clear 503, never an
// acknowledgement; once it is back the nodes reconnect by themselves, and
// every subscriber has every acknowledged message, in order, once: the
// ones from before, from during (none acknowledged) and after, with the
// same epochs, and history read afresh from Redis holds them all.
func TestRedisRestarted(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}})
	channels := []string{"room:r1", "room:r2"}
	recs, _ := lossSubscribers(t, c, channels, c.nodes...)
	pubs := lossPublishers(t, c, c.nodes...)
	l := newLedger()
	publishAll(t, l, pubs, channels, 8, nil)
	epochs := epochsOf(t, c.nodes[0].URL(), channels)

	// Publishers that keep going, without retries, through the outage.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	during := map[string]*apiPub{}
	for _, base := range append(c.urls(false), c.proxy.URL()) {
		p := newAPIPub(fixed(base), nil)
		during[base] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				ch := channels[k%len(channels)]
				id := fmt.Sprintf("during@%s-%d", base, k)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				status, r, err := p.once(ctx, ch, id)
				cancel()
				switch {
				case err == nil && status == 200:
					l.ack(ch, r.Seq, id)
				case status == 503 && r.Code == 503:
				case status == 0 || status == 502:
					// No answer: the node or nginx lost the connection.
				default:
					l.mu.Lock()
					l.errors = append(l.errors, fmt.Sprintf("publish through %s: status %d %+v %v", base, status, r, err))
					l.mu.Unlock()
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
	}

	rd.Kill()
	for _, n := range c.nodes {
		if err := waitHealth(n.URL(), 503, 20*time.Second); err != nil {
			t.Errorf("node %s with Redis down: %v", n.name, err)
		}
	}
	// With Redis down, every way to publish says so with 503.
	for _, n := range c.nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		status, r, err := newAPIPub(fixed(n.URL()), nil).once(ctx, channels[0], "down@"+n.name)
		cancel()
		if status != 503 || r.Code != 503 {
			t.Errorf("POST /api/publish on %s with Redis down: %d %+v %v, want 503", n.name, status, r, err)
		}
		w := newWSPub(fixed(n.WS()))
		_, err = w.try(map[string]any{"op": "pub", "ch": channels[0], "data": payload{P: "down-ws@" + n.name}, "id": "x"})
		w.close()
		if !errors.Is(err, errRefused) || !containsCode(err, 503) {
			t.Errorf("WebSocket pub on %s with Redis down: %v, want an err reply with code 503", n.name, err)
		}
	}

	rd.Restart()
	for _, n := range c.nodes {
		if err := waitHealth(n.URL(), 200, 30*time.Second); err != nil {
			t.Errorf("node %s after Redis came back: %v", n.name, err)
		}
	}
	close(stop)
	wg.Wait()
	for base, p := range during {
		t.Logf("publisher through %s during the outage: %v", base, p.Statuses())
	}

	publishAll(t, l, pubs, channels, 8, nil)
	waitAll(t, l, channels, recs, 45*time.Second)
	verify(t, l, channels, recs, nil)

	if after := epochsOf(t, c.nodes[1].URL(), channels); fmt.Sprint(after) != fmt.Sprint(epochs) {
		t.Errorf("epochs changed across the restart: %v, then %v (appendfsync always keeps them)", epochs, after)
	}
	// History as Redis holds it now, read by a new client from the start.
	reader := subscribeHTTP(t, "poll", "poll-from-start", fixed(c.nodes[2].URL()), channels, httpOptions{
		from: startPositions(channels, epochs),
	})
	waitAll(t, l, channels, []*record{reader.rec}, 30*time.Second)
	verify(t, l, channels, []*record{reader.rec}, nil)
}

// containsCode reports whether an error reply names code.
func containsCode(err error, code int) bool {
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf(": %d ", code))
}

// epochsOf asks base for the channels' current epochs (a wait=0 poll).
func epochsOf(t *testing.T, base string, channels []string) map[string]string {
	t.Helper()
	s := &httpSub{rec: newRecord("epochs"), target: fixed(base), channels: channels, client: httpClient(nil),
		bases: map[string]int{}, ctx: context.Background()}
	a, err := s.poll("/poll?" + s.channelQuery() + "&wait=0")
	if err != nil {
		t.Fatal(err)
	}
	pos, err := parseCursor(a.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for ch, p := range pos {
		out[ch] = p.epoch
	}
	return out
}

// startPositions are the channels at seq 0 of their epochs: everything
// history holds.
func startPositions(channels []string, epochs map[string]string) map[string]position {
	out := map[string]position{}
	for _, ch := range channels {
		out[ch] = position{epoch: epochs[ch]}
	}
	return out
}
