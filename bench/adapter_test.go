package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/comet-im/comet/bench/baseline"
)

// smallConfig runs clients in this process at sizes that take well under a
// second per scenario.
func smallConfig(targets ...Target) Config {
	return Config{
		Targets:            targets,
		ConnsPerWorker:     5, // 10 subscribers -> two client groups, two source addresses
		DialTimeout:        5 * time.Second,
		ConnectConns:       20,
		IdleConns:          10,
		IdleHold:           100 * time.Millisecond,
		BroadcastSubs:      10,
		BroadcastMsgs:      20,
		BroadcastRate:      200,
		ThroughputChannels: 5,
		ThroughputSubs:     2,
		ThroughputPubs:     2,
		ThroughputTime:     300 * time.Millisecond,
		RoomSubs:           10,
		RoomPubs:           4,
		RoomTime:           300 * time.Millisecond,
		ChurnStable:        5,
		ChurnRate:          50,
		ChurnLifetime:      100 * time.Millisecond,
		ChurnTime:          500 * time.Millisecond,
		ChurnMsgRate:       20,
		Settle:             10 * time.Millisecond,
	}
}

func startBaseline(t *testing.T) Target {
	t.Helper()
	srv := baseline.New("k")
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &External{Label: "baseline", Ep: Endpoint{Proto: ProtoComet, Addr: srv.Addr(), APIKey: "k"}}
}

func runScenario(t *testing.T, cfg Config, scenario string) Result {
	t.Helper()
	cfg.Scenarios = []string{scenario}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	if res[0].Error != "" {
		t.Fatalf("%s: %s", scenario, res[0].Error)
	}
	return res[0]
}

func TestBaselineBroadcastLosesNothing(t *testing.T) {
	r := runScenario(t, smallConfig(startBaseline(t)), "broadcast")
	m := r.Metrics
	if m["subs"] != 10 || m["msgs"] != 20 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 {
		t.Fatalf("metrics %v", m)
	}
	if m["seq_missing"] != 0 || m["seq_repeats"] != 0 {
		t.Fatalf("server seq gaps: %v", m)
	}
	if m["p50_ms"] <= 0 || m["max_ms"] < m["p99_ms"] || m["fanout_max_ms"] <= 0 {
		t.Fatalf("implausible latency: %v", m)
	}
}

func TestBaselineEveryScenario(t *testing.T) {
	t.Parallel() // churn waits for its settle; let it overlap the floor's
	cfg := smallConfig(startBaseline(t))
	for _, sc := range []string{"connect", "idle", "throughput", "room", "churn"} {
		t.Run(sc, func(t *testing.T) {
			r := runScenario(t, cfg, sc)
			if r.Metrics["failed"] != 0 || r.Metrics["lost"] != 0 || r.Metrics["dups"] != 0 {
				t.Fatalf("metrics %v notes %v", r.Metrics, r.Notes)
			}
			switch sc {
			case "connect":
				if r.Metrics["opened"] != 20 || r.Metrics["conns_per_s"] <= 0 {
					t.Fatalf("metrics %v", r.Metrics)
				}
			case "throughput":
				if r.Metrics["delivered_per_s"] <= 0 || r.Metrics["deliveries"] != 2*r.Metrics["published"] {
					t.Fatalf("metrics %v", r.Metrics)
				}
			case "churn":
				if r.Metrics["churn_opened"] == 0 || r.Metrics["stable"] != 5 {
					t.Fatalf("metrics %v", r.Metrics)
				}
			}
		})
	}
}

// lossyHub is a deliberately bad target speaking the Comet protocol: it
// drops every dropEvery-th publish for every subscriber, sends every
// dupEvery-th twice, and delays every delivery by delay. With failEvery it
// also refuses every failEvery-th publish request (503, nothing delivered).
type lossyHub struct {
	dropEvery, dupEvery int
	delay               time.Duration
	failEvery           int

	requests atomic.Int64

	mu   sync.Mutex
	seq  int64
	subs []*websocket.Conn
	wmu  map[*websocket.Conn]*sync.Mutex

	// Deliveries leave in publish order, so the counts the test expects
	// do not depend on how the delayed goroutines get scheduled.
	turn      *sync.Cond // on mu
	delivered int64      // last seq handed out
}

func (h *lossyHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
	case "/api/publish":
		req, ok := decodePublish(w, r)
		if !ok {
			return
		}
		if n := h.requests.Add(1); h.failEvery > 0 && n%int64(h.failEvery) == 0 {
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return
		}
		h.mu.Lock()
		h.seq++
		seq := h.seq
		subs := append([]*websocket.Conn(nil), h.subs...)
		h.mu.Unlock()
		msg, _ := json.Marshal(map[string]any{"op": "msg", "ch": req.Channel, "seq": seq, "data": req.Data})
		copies := 1
		if h.dropEvery > 0 && seq%int64(h.dropEvery) == 0 {
			copies = 0
		} else if h.dupEvery > 0 && seq%int64(h.dupEvery) == 0 {
			copies = 2
		}
		go func() {
			time.Sleep(h.delay)
			h.mu.Lock()
			if h.turn == nil {
				h.turn = sync.NewCond(&h.mu)
			}
			for h.delivered != seq-1 {
				h.turn.Wait()
			}
			h.mu.Unlock()
			defer func() {
				h.mu.Lock()
				h.delivered = seq
				h.turn.Broadcast()
				h.mu.Unlock()
			}()
			for _, c := range subs {
				for range copies {
					h.mu.Lock()
					m := h.wmu[c]
					h.mu.Unlock()
					m.Lock()
					_ = c.WriteMessage(websocket.TextMessage, msg)
					m.Unlock()
				}
			}
		}()
		_, _ = w.Write([]byte(`{"seq":` + itoa(int(seq)) + `}`))
	case "/ws":
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_, _, _ = c.ReadMessage() // the sub command
		m := &sync.Mutex{}
		h.mu.Lock()
		if h.wmu == nil {
			h.wmu = map[*websocket.Conn]*sync.Mutex{}
		}
		h.wmu[c] = m
		h.subs = append(h.subs, c)
		seq := h.seq
		h.mu.Unlock()
		m.Lock()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","id":"s1","seq":`+itoa(int(seq))+`}`))
		m.Unlock()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func startLossy(t *testing.T, h *lossyHub) Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &External{Label: "lossy", Ep: Endpoint{Proto: ProtoComet, Addr: strings.TrimPrefix(srv.URL, "http://")}}
}

func TestSlowLossyTargetIsReported(t *testing.T) {
	h := &lossyHub{dropEvery: 5, dupEvery: 7, delay: 30 * time.Millisecond}
	r := runScenario(t, smallConfig(startLossy(t, h)), "broadcast")
	m := r.Metrics
	// 20 publishes: seq 5,10,15,20 dropped; 7 and 14 sent twice; 10 subs.
	// The server-seq walk cannot see the trailing drop (20), the index
	// accounting can.
	if m["lost"] != 40 || m["dups"] != 20 || m["deliveries"] != 180 || m["seq_missing"] != 30 || m["seq_repeats"] != 20 {
		t.Fatalf("loss not reported exactly: %v", m)
	}
	if m["p50_ms"] < 30 {
		t.Fatalf("p50 %.2f ms hides the 30 ms delay", m["p50_ms"])
	}
	found := false
	for _, n := range r.Notes {
		found = found || strings.HasPrefix(n, "LOSS:")
	}
	if !found || !strings.Contains(strings.Join(r.Notes, "|"), "#4") {
		t.Fatalf("no LOSS note naming index 4 (seq 5) in %q", r.Notes)
	}
	var sb strings.Builder
	WriteTable(&sb, []Result{r})
	if !strings.Contains(sb.String(), "LOSS: 40 deliveries lost, 20 duplicated") {
		t.Fatalf("table hides the loss:\n%s", sb.String())
	}
}

// TestRoomLeavesRefusedPublishesOutOfLoss: a publish the server refused is
// a publish error, not a loss, although its index was taken.
func TestRoomLeavesRefusedPublishesOutOfLoss(t *testing.T) {
	r := runScenario(t, smallConfig(startLossy(t, &lossyHub{failEvery: 3})), "room")
	m := r.Metrics
	if m["publish_errors"] == 0 || m["published"] == 0 || m["lost"] != 0 || m["dups"] != 0 || m["deliveries"] != 10*m["published"] {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
}

// TestReportUnacked: indices whose publish failed are not lost, and not
// named as lost; the others still are.
func TestReportUnacked(t *testing.T) {
	ts := &trackedSub{ch: "c", sub: &Sub{done: make(chan struct{})}}
	for _, k := range []int64{0, 1, 3} {
		ts.tr.Observe(k)
	}
	g := &localGroup{subs: []*trackedSub{ts}}
	r, err := g.report(publishedSet{Count: map[string]int64{"c": 6}, Unacked: map[string][]int64{"c": {2, 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Lost != 1 || len(r.MissingSample) != 1 || r.MissingSample[0] != "c#4" {
		t.Fatalf("lost %d, sample %v; want 1, [c#4]", r.Lost, r.MissingSample)
	}
}

func TestScanIntAndPayload(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	p := Payload(nil, 42, sent, 100)
	if len(p) != 100 {
		t.Errorf("payload %d bytes, want 100: %s", len(p), p)
	}
	if !json.Valid(p) {
		t.Fatalf("payload not JSON: %s", p)
	}
	env := []byte(`{"op":"msg","ch":"a","seq":43,"ts":1,"data":` + string(p) + `}`)
	if v, ok := scanInt(env, `"bi":`); !ok || v != 42 {
		t.Errorf("bi = %d %v", v, ok)
	}
	if v, ok := scanInt(env, `"bt":`); !ok || v != sent.UnixNano() {
		t.Errorf("bt = %d %v", v, ok)
	}
	if v, ok := scanInt(env, `"seq":`); !ok || v != 43 {
		t.Errorf("seq = %d %v", v, ok)
	}
	if _, ok := scanInt([]byte(`{"seq":"x"}`), `"seq":`); ok {
		t.Error("non-number parsed")
	}
}

func TestHTTPVariantsSkipTargetsWithoutThem(t *testing.T) {
	cfg := smallConfig(startBaseline(t))
	cfg.Scenarios = []string{"idle-sse", "broadcast-poll"}
	res, err := Run(context.Background(), cfg)
	if err != nil || len(res) != 0 {
		t.Fatalf("baseline got SSE/poll results %v, %v", res, err)
	}
}

// publishRequest is the body of POST /api/publish that the test targets
// decode.
type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// decodePublish reads a publish body for a stand-in target, answering 400
// itself when it is malformed.
func decodePublish(w http.ResponseWriter, r *http.Request) (publishRequest, bool) {
	var req publishRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return req, false
	}
	return req, true
}
