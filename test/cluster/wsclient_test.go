//go:build unix

package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// position is where a subscriber is in a channel: the epoch and the last
// seq it processed.
type position struct {
	epoch string
	seq   uint64
}

// target chooses the base URL of a client's next connection: a fixed node,
// nginx, or each node in turn.
type target func() string

func fixed(base string) target { return func() string { return base } }

// rotate returns each base in turn, starting with the first.
func rotate(bases ...string) target {
	var mu sync.Mutex
	i := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		b := bases[i%len(bases)]
		i++
		return b
	}
}

// reconnectDeadline bounds how long a client keeps trying to reconnect
// after losing its connection (a node killed, Redis restarting).
const reconnectDeadline = 45 * time.Second

// backoff is the pause between reconnect attempts: short, since the nodes
// are on loopback, and growing so a dead cluster is not hammered.
func backoff(attempt int) time.Duration {
	return min(20*time.Millisecond<<min(attempt, 5), 500*time.Millisecond)
}

// wsSub is a WebSocket subscriber that reconnects with since/epoch after
// any loss of its connection, to whichever node its target names.
type wsSub struct {
	rec      *record
	target   target
	channels []string
	header   http.Header
	tls      *tls.Config
	query    string // appended to /ws (a token)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	pos  map[string]position
	conn *websocket.Conn
	// lastURL is the base of the current connection.
	lastURL string
}

type wsOptions struct {
	tls    *tls.Config
	header http.Header
	query  string
}

// subscribeWS connects a WebSocket subscriber to channels and returns once
// every channel's subscription is confirmed, so that anything published
// afterwards must reach it.
func subscribeWS(t *testing.T, name string, tg target, channels []string, o wsOptions) *wsSub {
	t.Helper()
	s := &wsSub{rec: newRecord(name), target: tg, channels: channels, header: o.header, tls: o.tls, query: o.query,
		pos: map[string]position{}, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c, err := s.connect()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go s.run(c)
	t.Cleanup(s.close)
	return s
}

func (s *wsSub) dialer() *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: s.tls.Clone()}
}

// connect dials, subscribes every channel from its position, and reads
// until every subscription is confirmed. Deliveries that arrive meanwhile
// are recorded.
func (s *wsSub) connect() (*websocket.Conn, error) {
	base := s.target()
	url := base + "/ws" + s.query
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	c, resp, err := s.dialer().DialContext(ctx, url, s.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (%s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	s.mu.Lock()
	s.conn, s.lastURL = c, base
	s.mu.Unlock()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, ch := range s.channels {
		m := map[string]any{"op": "sub", "ch": ch, "id": fmt.Sprintf("s%d", i)}
		s.mu.Lock()
		if p, ok := s.pos[ch]; ok {
			m["since"], m["epoch"] = p.seq, p.epoch
		}
		s.mu.Unlock()
		if err := c.WriteJSON(m); err != nil {
			c.Close()
			return nil, err
		}
	}
	pending := len(s.channels)
	for pending > 0 {
		ev, err := readEvent(c)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("waiting for sub replies from %s: %w", base, err)
		}
		if ev.Op == "sub" && ev.ID != "" {
			pending--
		}
		if ev.Op == "err" && strings.HasPrefix(ev.ID, "s") {
			c.Close()
			return nil, fmt.Errorf("subscribe on %s: %d %s", base, ev.Code, ev.Reason)
		}
		s.handle(ev)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

func readEvent(c *websocket.Conn) (event, error) {
	var ev event
	_, b, err := c.ReadMessage()
	if err != nil {
		return ev, err
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("not JSON: %q", b)
	}
	return ev, nil
}

// handle applies one event to the position and the record.
func (s *wsSub) handle(ev event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Op {
	case "sub":
		p, ok := s.pos[ev.Ch]
		if !ok {
			// The first subscribe: from the channel's top (nothing yet).
			s.pos[ev.Ch] = position{epoch: ev.Epoch, seq: ev.Seq}
		} else if p.epoch == "" {
			p.epoch = ev.Epoch
			s.pos[ev.Ch] = p
		}
		if ev.Recovered != nil && !*ev.Recovered {
			s.rec.anomaly("sub %s (id %q) answered recovered:false", ev.Ch, ev.ID)
		}
	case "epoch":
		p := s.pos[ev.Ch]
		p.epoch = ev.Epoch
		s.pos[ev.Ch] = p
	case "msg":
		if ev.Seq == 0 {
			return
		}
		p := s.pos[ev.Ch]
		if ev.Epoch != "" {
			p.epoch = ev.Epoch
		}
		p.seq = ev.Seq
		s.pos[ev.Ch] = p
		s.rec.add(ev.Ch, ev.Seq, ev.Data)
	case "err":
		s.rec.anomaly("error event: %d %s", ev.Code, ev.Reason)
	}
}

// run reads until the connection fails, then reconnects from the
// positions, until close.
func (s *wsSub) run(c *websocket.Conn) {
	defer close(s.done)
	for {
		for {
			ev, err := readEvent(c)
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					s.rec.closed(ce.Code)
				}
				break
			}
			s.handle(ev)
		}
		c.Close()
		if s.ctx.Err() != nil {
			return
		}
		c = s.reconnect()
		if c == nil {
			return
		}
	}
}

func (s *wsSub) reconnect() *websocket.Conn {
	deadline := time.Now().Add(reconnectDeadline)
	var last error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if s.ctx.Err() != nil {
			return nil
		}
		c, err := s.connect()
		if err == nil {
			s.rec.reconnected()
			return c
		}
		last = err
		select {
		case <-s.ctx.Done():
			return nil
		case <-time.After(backoff(attempt)):
		}
	}
	s.rec.anomaly("could not reconnect within %s: %v", reconnectDeadline, last)
	return nil
}

// base is the URL of the node (or proxy) the subscriber is connected to.
func (s *wsSub) base() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastURL
}

func (s *wsSub) close() {
	s.cancel()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.Close()
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// wsPub publishes over a WebSocket, one publish at a time: {"op":"pub"}
// with an idempotency key, waiting for its ok. A lost connection is
// redialled and the publish sent again with the same key.
type wsPub struct {
	target target
	tls    *tls.Config
	query  string
	conn   *websocket.Conn
	n      int
}

func newWSPub(tg target) *wsPub { return &wsPub{target: tg} }

// publish sends data on ch and returns the acknowledged seq, retrying
// until ctx ends.
func (p *wsPub) publish(ctx context.Context, ch, id string) (uint64, error) {
	p.n++
	req := map[string]any{"op": "pub", "ch": ch, "data": payload{P: id}, "id": fmt.Sprintf("p%d", p.n), "idem": id}
	var last error
	for attempt := 0; ctx.Err() == nil; attempt++ {
		seq, err := p.try(req)
		if err == nil {
			return seq, nil
		}
		last = err
		if p.conn != nil {
			p.conn.Close()
			p.conn = nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff(attempt)):
		}
	}
	return 0, fmt.Errorf("publish %s on %s: %w (last: %v)", id, ch, ctx.Err(), last)
}

// errRefused is an err reply: the node refused the publish.
var errRefused = errors.New("refused")

func (p *wsPub) try(req map[string]any) (uint64, error) {
	if p.conn == nil {
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: p.tls.Clone()}
		c, _, err := d.Dial(p.target()+"/ws"+p.query, nil)
		if err != nil {
			return 0, err
		}
		p.conn = c
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := p.conn.WriteJSON(req); err != nil {
		return 0, err
	}
	for {
		ev, err := readEvent(p.conn)
		if err != nil {
			return 0, err
		}
		if ev.ID != req["id"] {
			continue
		}
		if ev.Op == "ok" && ev.Seq > 0 {
			return ev.Seq, nil
		}
		return 0, fmt.Errorf("%w: %d %s", errRefused, ev.Code, ev.Reason)
	}
}

func (p *wsPub) close() {
	if p.conn != nil {
		p.conn.Close()
	}
}
