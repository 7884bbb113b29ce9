// Package baseline is the goroutine-per-connection peer that cometbench
// measures Comet against: a small, idiomatic gorilla/websocket hub of the kind
// most Go users would write first.
//
// It speaks the subset of Comet's JSON protocol that the benchmarks use: "sub",
// "unsub", "pub" and "ping" over WebSocket at GET /ws, POST /api/publish with a
// bearer key, and GET /healthz. Each connection has a reader goroutine, a
// writer goroutine and a buffered send channel; a client whose channel is full
// is disconnected with close code 4001, as the gorilla chat example does.
//
// It must not import anything from the comet module except through the
// standard library; it exists only to be measured.
package baseline

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// SendQueue is the number of frames buffered per connection before the hub
// treats the client as a slow consumer and disconnects it.
const SendQueue = 256

// Server is the baseline hub: channels, their subscribers and sequence
// counters, and the HTTP server in front of them.
type Server struct {
	apiKey   string
	upgrader websocket.Upgrader
	http     *http.Server
	ln       net.Listener

	mu       sync.RWMutex
	channels map[string]*channel
}

type channel struct {
	seq  int64
	subs map[*client]struct{}
}

type client struct {
	ws   *websocket.Conn
	send chan []byte
	once sync.Once
	done chan struct{}
	subs map[string]struct{} // owned by the reader goroutine
}

// New returns a hub that requires apiKey on POST /api/publish (empty: no
// check).
func New(apiKey string) *Server {
	s := &Server{
		apiKey:   apiKey,
		channels: make(map[string]*channel),
		upgrader: websocket.Upgrader{
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
			CheckOrigin:     func(*http.Request) bool { return true },
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("POST /api/publish", s.servePublish)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves in the
// background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() { _ = s.http.Serve(ln) }()
	return nil
}

// Addr is the resolved listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting, closes every WebSocket with 1001 and waits for
// the HTTP server until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.mu.Lock()
	for _, ch := range s.channels {
		for c := range ch.subs {
			c.close(websocket.CloseGoingAway)
		}
	}
	s.mu.Unlock()
	return err
}

// publish assigns the next sequence number on name and queues one shared
// frame to every subscriber.
func (s *Server) publish(name string, data json.RawMessage) int64 {
	s.mu.Lock()
	ch := s.channel(name)
	ch.seq++
	seq := ch.seq
	frame := appendMsg(nil, name, seq, data)
	for c := range ch.subs {
		select {
		case c.send <- frame:
		default:
			// Closing writes a frame; never do that under the hub lock.
			go c.close(4001)
		}
	}
	s.mu.Unlock()
	return seq
}

// channel returns the named channel, creating it; s.mu must be held.
func (s *Server) channel(name string) *channel {
	ch := s.channels[name]
	if ch == nil {
		ch = &channel{subs: make(map[*client]struct{})}
		s.channels[name] = ch
	}
	return ch
}

func appendMsg(b []byte, ch string, seq int64, data json.RawMessage) []byte {
	b = append(b, `{"op":"msg","ch":`...)
	b = strconv.AppendQuote(b, ch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

func (s *Server) servePublish(w http.ResponseWriter, r *http.Request) {
	if s.apiKey != "" {
		want := "Bearer " + s.apiKey
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
	}
	var req struct {
		Channel string          `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || req.Channel == "" || len(req.Data) == 0 {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	seq := s.publish(req.Channel, req.Data)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(strconv.AppendInt([]byte(`{"seq":`), seq, 10))
	_, _ = w.Write([]byte("}"))
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{ws: ws, send: make(chan []byte, SendQueue), done: make(chan struct{}), subs: make(map[string]struct{})}
	go c.writeLoop()
	s.readLoop(c)
}

type command struct {
	Op   string          `json:"op"`
	Ch   string          `json:"ch"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

func (s *Server) readLoop(c *client) {
	defer func() {
		s.mu.Lock()
		for name := range c.subs {
			if ch := s.channels[name]; ch != nil {
				delete(ch.subs, c)
			}
		}
		s.mu.Unlock()
		c.close(websocket.CloseNormalClosure)
	}()
	c.ws.SetReadLimit(64 << 10)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var cmd command
		if json.Unmarshal(p, &cmd) != nil {
			c.close(websocket.CloseUnsupportedData)
			return
		}
		var reply []byte
		switch cmd.Op {
		case "sub":
			s.mu.Lock()
			ch := s.channel(cmd.Ch)
			ch.subs[c] = struct{}{}
			seq := ch.seq
			s.mu.Unlock()
			c.subs[cmd.Ch] = struct{}{}
			reply, _ = json.Marshal(map[string]any{"op": "sub", "id": cmd.ID, "ch": cmd.Ch, "seq": seq, "epoch": "baseline"})
		case "unsub":
			s.mu.Lock()
			if ch := s.channels[cmd.Ch]; ch != nil {
				delete(ch.subs, c)
			}
			s.mu.Unlock()
			delete(c.subs, cmd.Ch)
			reply, _ = json.Marshal(map[string]any{"op": "unsub", "id": cmd.ID, "ch": cmd.Ch})
		case "pub":
			seq := s.publish(cmd.Ch, cmd.Data)
			reply, _ = json.Marshal(map[string]any{"op": "ok", "id": cmd.ID, "seq": seq})
		case "ping":
			reply, _ = json.Marshal(map[string]any{"op": "pong", "id": cmd.ID})
		default:
			reply, _ = json.Marshal(map[string]any{"op": "err", "id": cmd.ID, "code": 400, "reason": "unknown op"})
		}
		select {
		case c.send <- reply:
		default:
			c.close(4001)
			return
		}
	}
}

func (c *client) writeLoop() {
	for {
		select {
		case frame := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				c.close(websocket.CloseAbnormalClosure)
				return
			}
		case <-c.done:
			return
		}
	}
}

// close sends a close frame with code (best effort) and closes the socket;
// only the first call has an effect.
func (c *client) close(code int) {
	c.once.Do(func() {
		close(c.done)
		msg := websocket.FormatCloseMessage(code, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}
