package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// sseHub stands in for Comet's GET /sse until the server has it: one
// "data: <msg>" event per publish, in the Comet "msg" format.
type sseHub struct {
	mu   sync.Mutex
	seq  int64
	subs []chan []byte
}

func (h *sseHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
	case "/api/publish":
		req, ok := decodePublish(w, r)
		if !ok {
			return
		}
		h.mu.Lock()
		h.seq++
		ev := fmt.Appendf(nil, "id: %d\ndata: {\"op\":\"msg\",\"ch\":%q,\"seq\":%d,\"data\":%s}\n\n", h.seq, req.Channel, h.seq, req.Data)
		for _, s := range h.subs {
			s <- ev
		}
		fmt.Fprintf(w, `{"seq":%d}`, h.seq)
		h.mu.Unlock()
	case "/sse":
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("retry: 2000\n\nid: c\ndata: {\"op\":\"open\",\"cursor\":\"c\"}\n\n"))
		w.(http.Flusher).Flush()
		ch := make(chan []byte, 100)
		h.mu.Lock()
		h.subs = append(h.subs, ch)
		h.mu.Unlock()
		for {
			select {
			case ev := <-ch:
				_, _ = w.Write(ev)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func TestSSEBroadcastAdapter(t *testing.T) {
	srv := httptest.NewServer(&sseHub{})
	t.Cleanup(srv.Close)
	target := &External{Label: "sse", Ep: Endpoint{Proto: ProtoComet, Addr: strings.TrimPrefix(srv.URL, "http://")}, HTTPTransports: true}
	r := runScenario(t, smallConfig(target), "broadcast-sse")
	m := r.Metrics
	if m["subs"] != 10 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 || m["seq_missing"] != 0 {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
}
