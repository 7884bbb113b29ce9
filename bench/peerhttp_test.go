package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// nchanHub stands in for nginx + nchan's HTTP subscribers as the harness
// uses them (bench/peers/nchan.conf.tmpl): POST /pub/<ch> stores a raw
// message; GET /sse/<ch> is an EventSource stream that opens with ": hi";
// GET /poll/<ch> answers one message per request, the next one chosen by
// If-None-Match (the Etag of the last answer), and 408 after hold when there
// is none, as nchan does at nchan_subscriber_timeout.
type nchanHub struct {
	hold time.Duration

	mu       sync.Mutex
	msgs     map[string][][]byte
	changed  chan struct{} // closed and replaced on every publish
	timeouts atomic.Int64  // 408 answers
}

func newNchanHub(hold time.Duration) *nchanHub {
	return &nchanHub{hold: hold, msgs: map[string][][]byte{}, changed: make(chan struct{})}
}

// from returns the messages of ch from index k on, and a channel closed at
// the next publish.
func (h *nchanHub) from(ch string, k int) ([][]byte, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msgs[ch][min(k, len(h.msgs[ch])):], h.changed
}

func (h *nchanHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, ch, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch kind {
	case "healthz":
	case "pub":
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.msgs[ch] = append(h.msgs[ch], body)
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "queued messages: 1\n")
	case "sse":
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, ": hi\n\n")
		w.(http.Flusher).Flush()
		for next := 0; ; {
			msgs, changed := h.from(ch, next)
			for _, m := range msgs {
				fmt.Fprintf(w, "id: 1:%d\ndata: %s\n\n", next, m)
				next++
			}
			w.(http.Flusher).Flush()
			select {
			case <-changed:
			case <-r.Context().Done():
				return
			}
		}
	case "poll":
		next := 0
		if tag := r.Header.Get("If-None-Match"); tag != "" {
			k, err := strconv.Atoi(tag)
			if err != nil || r.Header.Get("If-Modified-Since") == "" {
				http.Error(w, "bad cursor", http.StatusBadRequest)
				return
			}
			next = k + 1
		}
		timeout := time.NewTimer(h.hold)
		defer timeout.Stop()
		for {
			msgs, changed := h.from(ch, next)
			if len(msgs) > 0 {
				w.Header().Set("Last-Modified", "Tue, 01 Dec 2026 00:00:00 GMT")
				w.Header().Set("Etag", strconv.Itoa(next))
				_, _ = w.Write(msgs[0])
				return
			}
			select {
			case <-changed:
			case <-timeout.C:
				h.timeouts.Add(1)
				w.WriteHeader(http.StatusRequestTimeout)
				return
			case <-r.Context().Done():
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func startNchanHub(t *testing.T, h *nchanHub) Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &External{Label: "nchan", Ep: Endpoint{Proto: ProtoNchan, Addr: strings.TrimPrefix(srv.URL, "http://")}}
}

func TestNchanHTTPSubscribers(t *testing.T) {
	for _, sc := range []string{"broadcast-sse", "broadcast-poll", "room-poll"} {
		t.Run(sc, func(t *testing.T) {
			r := runScenario(t, smallConfig(startNchanHub(t, newNchanHub(5*time.Second))), sc)
			m := r.Metrics
			if m["subs"] != 10 || m["lost"] != 0 || m["dups"] != 0 || m["failed"] != 0 || m["published"] == 0 && m["msgs"] == 0 {
				t.Fatalf("metrics %v notes %v", m, r.Notes)
			}
			if want := 10 * (m["msgs"] + m["published"]); m["deliveries"] != want {
				t.Fatalf("deliveries %v, want %v", m["deliveries"], want)
			}
		})
	}
}

// TestNchanPollAsksAgainAfterTimeout: an idle long-poll that nchan answers
// with 408 is sent again with the same cursor, and the subscriber stays.
func TestNchanPollAsksAgainAfterTimeout(t *testing.T) {
	h := newNchanHub(20 * time.Millisecond)
	cfg := smallConfig(startNchanHub(t, h))
	r := runScenario(t, cfg, "idle-poll")
	if m := r.Metrics; m["conns"] != 10 || m["closed_by_server"] != 0 || h.timeouts.Load() < 10 {
		t.Fatalf("metrics %v, %d timeouts; notes %v", m, h.timeouts.Load(), r.Notes)
	}
}

// centrifugoSSEHub stands in for Centrifugo's unidirectional SSE: it checks
// the connection token (HS256 with the API key, "channels" claim) with an
// independent JWT library, sends the connect reply and a ping, then one push
// per publish; POST /api/publish takes Centrifugo's API body and key.
type centrifugoSSEHub struct {
	key string

	mu     sync.Mutex
	offset map[string]int64
	subs   map[string][]chan []byte
}

func (h *centrifugoSSEHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
	case "/api/publish":
		if r.Header.Get("X-API-Key") != h.key {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		req, ok := decodePublish(w, r)
		if !ok {
			return
		}
		h.mu.Lock()
		h.offset[req.Channel]++
		off := h.offset[req.Channel]
		push := fmt.Appendf(nil, `{"channel":%q,"pub":{"data":%s,"offset":%d}}`, req.Channel, req.Data, off)
		for _, s := range h.subs[req.Channel] {
			s <- push
		}
		h.mu.Unlock()
		fmt.Fprintf(w, `{"result":{"offset":%d,"epoch":"e"}}`, off)
	case "/connection/uni_sse":
		var connect struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.URL.Query().Get("cf_connect")), &connect); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var claims struct {
			jwt.RegisteredClaims
			Channels []string `json:"channels"`
		}
		_, err := jwt.ParseWithClaims(connect.Token, &claims, func(*jwt.Token) (any, error) { return []byte(h.key), nil },
			jwt.WithValidMethods([]string{"HS256"}))
		if err != nil || len(claims.Channels) != 1 {
			http.Error(w, fmt.Sprintf("token: %v %v", err, claims.Channels), http.StatusUnauthorized)
			return
		}
		ch := claims.Channels[0]
		pushes := make(chan []byte, 1000)
		h.mu.Lock()
		h.subs[ch] = append(h.subs[ch], pushes)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		fmt.Fprintf(w, "\ndata: {\"connect\":{\"client\":\"c\",\"subs\":{%q:{}},\"ping\":25}}\n\ndata: {}\n\n", ch)
		w.(http.Flusher).Flush()
		for {
			select {
			case p := <-pushes:
				fmt.Fprintf(w, "data: %s\n\n", p)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func TestCentrifugoSSESubscribers(t *testing.T) {
	h := &centrifugoSSEHub{key: "k", offset: map[string]int64{}, subs: map[string][]chan []byte{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	target := &External{Label: "centrifugo", Ep: Endpoint{Proto: ProtoCentrifugo, Addr: strings.TrimPrefix(srv.URL, "http://"), APIKey: "k"}}
	cfg := smallConfig(target)
	r := runScenario(t, cfg, "broadcast-sse")
	m := r.Metrics
	if m["subs"] != 10 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 || m["seq_missing"] != 0 || m["seq_repeats"] != 0 {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
	// Centrifugo has no long-poll: the poll scenarios skip it.
	cfg.Scenarios = []string{"broadcast-poll", "idle-poll"}
	if res, err := Run(t.Context(), cfg); err != nil || len(res) != 0 {
		t.Fatalf("centrifugo got long-poll results %v, %v", res, err)
	}
}

// TestSubscriberProto is the table of which transport each kind of target
// is run on.
func TestSubscriberProto(t *testing.T) {
	comet := &External{Ep: Endpoint{Proto: ProtoComet}, HTTPTransports: true}
	wsOnly := &External{Ep: Endpoint{Proto: ProtoComet}} // the baseline, the floor
	nchan := &Process{Proto: ProtoNchan}
	centrifugo := &Process{Proto: ProtoCentrifugo}
	for _, c := range []struct {
		target   Target
		scenario string
		want     Proto
		ok       bool
	}{
		{comet, "room", ProtoComet, true},
		{comet, "broadcast-sse", ProtoCometSSE, true},
		{comet, "idle-poll", ProtoCometPoll, true},
		{wsOnly, "broadcast", ProtoComet, true},
		{wsOnly, "broadcast-sse", "", false},
		{wsOnly, "room-poll", "", false},
		{nchan, "churn", ProtoNchan, true},
		{nchan, "broadcast-sse", ProtoNchanSSE, true},
		{nchan, "idle-poll", ProtoNchanPoll, true},
		{centrifugo, "idle-sse", ProtoCentrifugoSSE, true},
		{centrifugo, "broadcast-poll", "", false},
	} {
		got, ok := subscriberProto(c.target, c.scenario)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("%s on %s: %q %v, want %q %v", c.scenario, targetProto(c.target), got, ok, c.want, c.ok)
		}
	}
}

// TestPeerTemplatesMatchTheAdapters: the generated peer configs serve the
// paths and timeouts the subscribers assume.
func TestPeerTemplatesMatchTheAdapters(t *testing.T) {
	for _, want := range []string{"location ~ ^/sse/(.+)$", "nchan_subscriber eventsource;", "location ~ ^/poll/(.+)$", "nchan_subscriber longpoll;",
		fmt.Sprintf("nchan_subscriber_timeout %ds;", int(nchanPollTimeout.Seconds()))} {
		if !strings.Contains(nchanConf, want) {
			t.Errorf("nchan.conf.tmpl lacks %q", want)
		}
	}
	if nchanPollTimeout >= pollHold {
		t.Errorf("nchan's poll timeout %v must be below the harness's hold %v", nchanPollTimeout, pollHold)
	}
	conf := strings.NewReplacer("{{port}}", "1", "{{key}}", "k", "{{history}}", "1").Replace(centrifugoConf)
	var c map[string]any
	if err := json.Unmarshal([]byte(conf), &c); err != nil {
		t.Fatalf("centrifugo.json.tmpl: %v", err)
	}
	if c["uni_sse"] != true || c["token_hmac_secret_key"] != "k" {
		t.Errorf("centrifugo config %v: want uni_sse and the key as token secret", c)
	}
}
