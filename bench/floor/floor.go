// Package floor is the least a WebSocket fan-out server must do, the
// reference cometbench measures every other target's distance to.
//
// It upgrades connections, reads each one's single subscribe command, and
// from then on never reads from it again: the connection becomes a raw,
// non-blocking file descriptor in a channel's slice. For every published
// message one thread builds the frame once and writes the same bytes to every
// subscriber with one write(2) each, in a tight loop (writer.go). A socket
// whose buffer is full keeps its frames in order in a queue of shared frames
// and is written again, still one write per frame, when epoll says it is
// writable; nothing is coalesced, so the floor is exactly one write per
// message per connection.
//
// It speaks the part of Comet's protocol the harness's WebSocket subscribers
// and publisher use: GET /ws, then {"op":"sub","ch":…,"id":…} answered with
// {"op":"sub","id":…,"ch":…,"seq":N}; {"op":"msg","ch":…,"seq":N,"ts":T,
// "data":…} per message; POST /api/publish with a bearer key answered with
// {"seq":N}; GET /healthz. There are no pings, no history, no other
// commands: whatever a client sends after subscribing is never read.
//
// A publish is accepted (answered) when the writer thread takes it, before
// its fan-out; since each publish waits for that, at most one publish per
// publisher connection is queued, as in a server whose event loop both
// accepts publishes and fans them out.
//
// Concurrency: one goroutine per accepted connection runs the handshake (and,
// for a publisher, its keep-alive requests); one locked OS thread owns every
// subscriber socket and all channel state. They meet in the writer's queue.
//
// It must not import anything from the comet module: it exists only to be
// measured.
package floor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// handshakeTimeout bounds the upgrade and the subscribe command, and a
// publisher connection's wait for its next request.
const handshakeTimeout = 10 * time.Second

// maxBody bounds a publish request and a subscribe command.
const maxBody = 1 << 20

// Server is the floor: a listener, the handshake goroutines and the writer
// thread.
type Server struct {
	apiKey string
	ln     net.Listener
	w      *writer

	wg     sync.WaitGroup // handshake and publisher goroutines
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // connections still in a goroutine, closed by Shutdown
	closed bool
}

// New returns a floor server that requires apiKey on POST /api/publish
// (empty: no check).
func New(apiKey string) *Server {
	return &Server{apiKey: apiKey, conns: map[net.Conn]struct{}{}}
}

// Start listens on addr ("127.0.0.1:0" picks a port), starts the writer
// thread and accepts in the background.
func (s *Server) Start(addr string) error {
	w, err := newWriter()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		w.stop()
		return err
	}
	s.w, s.ln = w, ln
	go s.accept()
	return nil
}

// Addr is the resolved listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats is a snapshot of the writer's counters.
type Stats = writerStats

// Stats returns the writer's counters.
func (s *Server) Stats() Stats { return s.w.snapshot() }

// Shutdown stops accepting, closes every connection (subscribers are closed
// without a close frame: the floor sends nothing it does not have to) and
// waits for the goroutines until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.w.stop()
	return err
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// release forgets c; the caller has closed it or handed its socket on.
func (s *Server) release(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// readWriter lets the upgrader read through the peeked bufio.Reader.
type readWriter struct {
	io.Reader
	io.Writer
}

// serve routes one connection: an upgrade on GET /ws, otherwise keep-alive
// HTTP requests (health checks and publishes) until the client closes.
func (s *Server) serve(c net.Conn) {
	defer s.release(c)
	br := bufio.NewReaderSize(c, 4096)
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if head, _ := br.Peek(8); bytes.Equal(head, []byte("GET /ws ")) || bytes.Equal(head, []byte("GET /ws?")) {
		if err := s.subscribe(c, br); err != nil {
			_ = c.Close()
		}
		return
	}
	defer c.Close()
	for i := 0; i < 1<<30; i++ { // a keep-alive connection's requests
		_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		status, body := s.route(req)
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxBody))
		resp := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			status, http.StatusText(status), len(body), body)
		if _, err := c.Write(resp); err != nil || req.Close {
			return
		}
	}
}

func (s *Server) route(req *http.Request) (status int, body []byte) {
	switch {
	case req.URL.Path == "/healthz":
		return http.StatusOK, []byte("ok")
	case req.URL.Path == "/api/publish" && req.Method == http.MethodPost:
		return s.publish(req)
	}
	return http.StatusNotFound, []byte(`{"error":"not found"}`)
}

// publishRequest is the body of POST /api/publish.
type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func (s *Server) publish(req *http.Request) (status int, body []byte) {
	if s.apiKey != "" {
		want := "Bearer " + s.apiKey
		if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), []byte(want)) != 1 {
			return http.StatusUnauthorized, []byte(`{"error":"unauthorized"}`)
		}
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	var p publishRequest
	if err != nil || json.Unmarshal(b, &p) != nil || p.Channel == "" || len(p.Data) == 0 {
		return http.StatusBadRequest, []byte(`{"error":"bad request"}`)
	}
	seq, ok := s.w.publish(p.Channel, p.Data)
	if !ok {
		return http.StatusServiceUnavailable, []byte(`{"error":"stopping"}`)
	}
	return http.StatusOK, append(strconv.AppendInt([]byte(`{"seq":`), seq, 10), '}')
}

// subscribeCommand is the one client message the floor reads.
type subscribeCommand struct {
	Op string `json:"op"`
	Ch string `json:"ch"`
	ID string `json:"id"`
}

// subscribe upgrades c (RFC 6455 §4.2), reads its subscribe command and
// hands the socket to the writer.
func (s *Server) subscribe(c net.Conn, br *bufio.Reader) error {
	if _, err := (ws.Upgrader{}).Upgrade(readWriter{br, c}); err != nil {
		return err
	}
	h, err := ws.ReadHeader(br)
	if err != nil {
		return err
	}
	if h.OpCode != ws.OpText || !h.Fin || !h.Masked || h.Length > maxBody {
		return errors.New("floor: expected one masked text frame")
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		return err
	}
	ws.Cipher(payload, h.Mask, 0)
	var cmd subscribeCommand
	if err := json.Unmarshal(payload, &cmd); err != nil || cmd.Op != "sub" || cmd.Ch == "" {
		return errors.New("floor: expected a sub command")
	}
	if br.Buffered() > 0 {
		// The client spoke again before the reply: the floor will never
		// read it, so refuse rather than leave it unread silently.
		return errors.New("floor: data after the sub command")
	}
	fd, err := takeFD(c)
	if err != nil {
		return err
	}
	if !s.w.join(fd, cmd.Ch, cmd.ID) {
		closeFD(fd)
	}
	return nil
}
