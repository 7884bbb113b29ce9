package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
)

// The test DSL: start a real server on 127.0.0.1:0, talk to it through real
// sockets with a deadline on every read, stop it in t.Cleanup.

const readTimeout = 5 * time.Second

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.APIKey == "" {
		// Most tests publish through the API without a key; the secure
		// default (401) has its own test, TestAPIKeyRequired.
		cfg.InsecureAPI = true
	}
	return startServerExact(t, cfg)
}

// startServerExact starts a server on cfg as given (a memory engine when
// cfg has none).
func startServerExact(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Broker == nil {
		cfg.Broker = newMemoryEngine(t, cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if !srv.draining.Load() {
			_ = srv.Shutdown(ctx)
		}
	})
	return srv
}

// newMemoryEngine returns the in-process engine with cfg's history
// settings, as cmd/comet wires it; with COMET_TEST_ENGINE=delayed, behind
// delayedEngine.
func newMemoryEngine(t testing.TB, cfg Config) broker.Broker {
	t.Helper()
	b, err := memory.New(memory.Config{HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	if delayedEngines() {
		return newDelayedEngine(b)
	}
	return b
}

// wsClient is a gorilla/websocket client: an independent implementation.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	epochs map[string]string // the epoch events seen, by channel
}

func dialWS(t testing.TB, addr string) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// read returns the next message as a generic JSON object. Epoch events
// (a channel's stream began) are metadata: they are checked and recorded
// in epochs, then skipped, so tests read the messages they wait for.
func (w *wsClient) read() map[string]any {
	w.t.Helper()
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(readTimeout))
		_, p, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			w.t.Fatalf("not JSON: %q", p)
		}
		if m["op"] != "epoch" {
			return m
		}
		ch, _ := m["ch"].(string)
		epoch, _ := m["epoch"].(string)
		if ch == "" || epoch == "" || strings.HasPrefix(epoch, ".") || len(m) != 3 {
			w.t.Fatalf("malformed epoch event %s", p)
		}
		if w.epochs == nil {
			w.epochs = map[string]string{}
		}
		w.epochs[ch] = epoch
	}
}

// readMsg returns the next message's bytes, past epoch events, or the
// read error (for tests that read from their own goroutines).
func (w *wsClient) readMsg() ([]byte, error) {
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(readTimeout))
		_, p, err := w.c.ReadMessage()
		if err != nil || !bytes.HasPrefix(p, []byte(`{"op":"epoch"`)) {
			return p, err
		}
	}
}

// readServerMsg reads the next text message from a gobwas client
// connection, past epoch events.
func readServerMsg(c net.Conn) ([]byte, error) {
	for {
		p, err := wsutil.ReadServerText(c)
		if err != nil || !bytes.HasPrefix(p, []byte(`{"op":"epoch"`)) {
			return p, err
		}
	}
}

// expect reads the next message and checks the given fields.
func (w *wsClient) expect(fields map[string]any) map[string]any {
	w.t.Helper()
	m := w.read()
	for k, want := range fields {
		if got, ok := m[k]; !ok || !jsonEqual(got, want) {
			w.t.Fatalf("field %q = %v, want %v (message %v)", k, got, want, m)
		}
	}
	return m
}

func (w *wsClient) subscribe(ch string) map[string]any {
	w.t.Helper()
	w.send(`{"op":"sub","ch":"` + ch + `","id":"s-` + ch + `"}`)
	return w.expect(map[string]any{"op": "sub", "ch": ch})
}

func jsonEqual(got, want any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}

// rawConn speaks WebSocket frame by frame, to send what no library would.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, readTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

const upgradeRequest = "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// upgrade performs the handshake, optionally followed by extra bytes in the
// same write, and checks the 101.
func (r *rawConn) upgrade(path string, extra []byte) {
	r.t.Helper()
	req := strings.Replace(upgradeRequest, "/ws", path, 1)
	r.write(append([]byte(req), extra...))
	status, _ := r.readResponse()
	if status != 101 {
		r.t.Fatalf("upgrade status %d", status)
	}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// readResponse reads one HTTP response and returns its status and body.
func (r *rawConn) readResponse() (int, string) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(readTimeout))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 101 {
		return 101, ""
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// frame builds one client frame; masked unless told otherwise.
func frame(op ws.OpCode, fin bool, payload []byte, masked bool) []byte {
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: masked}
	p := append([]byte(nil), payload...)
	if masked {
		h.Mask = [4]byte{1, 2, 3, 4}
		ws.Cipher(p, h.Mask, 0)
	}
	return append(codec.AppendFrameHeader(nil, h), p...)
}

// readFrame reads one server frame.
func (r *rawConn) readFrame() (ws.Header, []byte) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(readTimeout))
	h, err := ws.ReadHeader(r.br)
	if err != nil {
		r.t.Fatalf("read frame header: %v", err)
	}
	if h.Length > 1<<20 || h.Masked {
		r.t.Fatalf("server frame of %d bytes, masked %v", h.Length, h.Masked)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		r.t.Fatalf("read frame payload: %v", err)
	}
	return h, payload
}

// expectClose reads frames until a close frame and returns its code; the
// server must then close the TCP connection.
func (r *rawConn) expectClose() int {
	r.t.Helper()
	for {
		h, p := r.readFrame()
		if h.OpCode != ws.OpClose {
			continue
		}
		code := 1005
		if len(p) >= 2 {
			code = int(binary.BigEndian.Uint16(p))
		}
		_ = r.c.SetReadDeadline(time.Now().Add(readTimeout))
		if _, err := r.br.ReadByte(); err == nil {
			r.t.Fatalf("server sent data after its close frame")
		}
		return code
	}
}

// expectEOF asserts the server closes the connection.
func (r *rawConn) expectEOF() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(readTimeout))
	if _, err := io.ReadAll(r.br); err != nil {
		r.t.Fatalf("expected EOF, got %v", err)
	}
}

func httpPublish(t testing.TB, addr, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/publish", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
