//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// permessage-deflate (RFC 7692) end to end: the binary with
// -ws-compression on, node's ws and Chromium as clients, and a wire tap
// between them and the server that reads every WebSocket frame header,
// because neither client tells whether a message it received was
// compressed.

// wireTap is a TCP relay in front of a server that parses both directions
// of every connection: the upgrade request and response, then each frame
// header (RSV1, opcode) and close code. A connection whose response is not
// a 101 (plain HTTP: pages, the API) is relayed without parsing.
type wireTap struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns []*tapConn
}

// tapConn is what the tap saw on one connection. Guarded by wireTap.mu.
type tapConn struct {
	offered  bool // the request offered permessage-deflate
	upgraded bool // the server answered 101
	accepted bool // ... accepting permessage-deflate
	toClient tapCount
	toServer tapCount
}

// tapCount counts one direction's frames.
type tapCount struct {
	data       int // first frames of text or binary messages
	compressed int // of which with RSV1 set
	closeCode  int // the close frame's code, 0 if none seen
}

// startTap relays a free loopback port to s until the test ends.
func startTap(t *testing.T, s *server) *wireTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &wireTap{ln: ln, upstream: s.hostAddr()}
	tap.wg.Add(1)
	go tap.accept()
	t.Cleanup(func() {
		ln.Close()
		tap.wg.Wait()
	})
	return tap
}

// URL is the tap's http://host:port, to give clients instead of the server's.
func (tap *wireTap) URL() string { return "http://" + tap.ln.Addr().String() }

func (tap *wireTap) accept() {
	defer tap.wg.Done()
	var open []net.Conn
	var mu sync.Mutex
	defer func() {
		// The test is over: cut what clients left open.
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		client, err := tap.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.DialTimeout("tcp", tap.upstream, hostileTimeout)
		if err != nil {
			client.Close()
			continue
		}
		mu.Lock()
		open = append(open, client, server)
		mu.Unlock()
		tc := &tapConn{}
		tap.mu.Lock()
		tap.conns = append(tap.conns, tc)
		tap.mu.Unlock()
		up := &tapParser{tap: tap, conn: tc, fromClient: true}
		down := &tapParser{tap: tap, conn: tc}
		tap.wg.Add(2)
		go tap.relay(server, client, up)
		go tap.relay(client, server, down)
	}
}

// relay copies src to dst through p; at the end of either direction both
// sockets close, as a proxy would.
func (tap *wireTap) relay(dst, src net.Conn, p *tapParser) {
	defer tap.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.feed(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// snapshot returns a copy of what the tap saw so far.
func (tap *wireTap) snapshot() []tapConn {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	out := make([]tapConn, len(tap.conns))
	for i, c := range tap.conns {
		out[i] = *c
	}
	return out
}

// tapParser parses one direction of one connection.
type tapParser struct {
	tap        *wireTap
	conn       *tapConn
	fromClient bool
	buf        []byte
	inFrames   bool // past the HTTP head
	off        bool // not a WebSocket: relay only
}

func (p *tapParser) feed(b []byte) {
	if p.off {
		return
	}
	p.buf = append(p.buf, b...)
	if !p.inFrames {
		end := bytes.Index(p.buf, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		head := strings.ToLower(string(p.buf[:end]))
		p.buf = p.buf[end+4:]
		p.tap.mu.Lock()
		if p.fromClient {
			p.conn.offered = strings.Contains(head, "\nsec-websocket-extensions:") && strings.Contains(head, "permessage-deflate")
			p.off = !strings.Contains(head, "\nupgrade: websocket")
		} else {
			p.conn.upgraded = strings.HasPrefix(head, "http/1.1 101")
			p.conn.accepted = p.conn.upgraded && strings.Contains(head, "\nsec-websocket-extensions: permessage-deflate")
			p.off = !p.conn.upgraded
		}
		p.tap.mu.Unlock()
		if p.off {
			p.buf = nil
			return
		}
		p.inFrames = true
	}
	for p.frame() {
	}
}

// frame consumes one whole frame from buf, and false when there is none.
func (p *tapParser) frame() bool {
	b := p.buf
	if len(b) < 2 {
		return false
	}
	n, i := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return false
		}
		n, i = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return false
		}
		n, i = binary.BigEndian.Uint64(b[2:]), 10
	}
	var mask []byte
	if b[1]&0x80 != 0 {
		if len(b) < i+4 {
			return false
		}
		mask, i = b[i:i+4], i+4
	}
	if uint64(len(b)-i) < n {
		return false
	}
	payload := bytes.Clone(b[i : i+int(n)])
	if mask != nil {
		for j := range payload {
			payload[j] ^= mask[j%4]
		}
	}
	p.buf = b[i+int(n):]
	op, rsv1 := b[0]&0x0f, b[0]&0x40 != 0
	p.tap.mu.Lock()
	defer p.tap.mu.Unlock()
	c := &p.conn.toClient
	if p.fromClient {
		c = &p.conn.toServer
	}
	switch {
	case op == 1 || op == 2:
		c.data++
		if rsv1 {
			c.compressed++
		}
	case op == 8 && len(payload) >= 2:
		c.closeCode = int(binary.BigEndian.Uint16(payload))
	}
	return true
}

// String describes a connection in a failure message.
func (c tapConn) String() string {
	return fmt.Sprintf("{offered %v, upgraded %v, accepted %v; to client %d data (%d compressed), close %d; to server %d data (%d compressed), close %d}",
		c.offered, c.upgraded, c.accepted, c.toClient.data, c.toClient.compressed, c.toClient.closeCode,
		c.toServer.data, c.toServer.compressed, c.toServer.closeCode)
}

// checkTap asserts the promises of compression on every WebSocket the tap
// saw: a client that did not offer the extension never gets it nor a
// compressed frame (and, with wantPlain, one such client was sent
// messages), and where it was accepted the server's messages come
// compressed (compressedToClient frames at least on one connection), and
// the client's did too (compressedToServer on one connection).
func checkTap(t *testing.T, tap *wireTap, wantPlain bool, compressedToClient, compressedToServer int) {
	t.Helper()
	if testing.Verbose() {
		t.Logf("the tap saw %v", tap.snapshot())
	}
	var plainServed, bestToClient, bestToServer int
	for _, c := range tap.snapshot() {
		if !c.upgraded {
			continue
		}
		if !c.offered {
			if c.accepted || c.toClient.compressed > 0 {
				t.Errorf("a client that offered no compression got it: %v", c)
			}
			plainServed += c.toClient.data
			continue
		}
		if !c.accepted {
			t.Errorf("an offer was declined: %v", c)
		}
		bestToClient = max(bestToClient, c.toClient.compressed)
		bestToServer = max(bestToServer, c.toServer.compressed)
	}
	if wantPlain && plainServed == 0 {
		t.Errorf("no client without an offer was served a message: %v", tap.snapshot())
	}
	if bestToClient < compressedToClient || bestToServer < compressedToServer {
		t.Errorf("most compressed frames on one connection: %d to the client, %d to the server; want at least %d and %d\n%v",
			bestToClient, bestToServer, compressedToClient, compressedToServer, tap.snapshot())
	}
}

// TestNodeDeflate: node's ws negotiates permessage-deflate with a node
// started with -ws-compression on, receives compressed broadcasts intact,
// publishes compressed, a client without the offer is served plain, and a
// compression bomb is cut with 1009 (test/node/deflate.test.mjs); the tap
// checks the frames.
func TestNodeDeflate(t *testing.T) {
	t.Parallel()
	dir := requireNode(t)
	srv := startServer(t, "-api-key", apiKey, "-ws-compression", "on", "-max-message-bytes", "65536")
	tap := startTap(t, srv)
	runClient(t, dir, []string{
		"COMET_URL=" + tap.URL(),
		"COMET_TEST_API_KEY=" + apiKey,
		"COMET_TEST_MAX_MESSAGE_BYTES=65536",
	}, nil, "node", nodeTest("deflate.test.mjs")...)
	checkTap(t, tap, true, 3, 2)
	bombed := false
	for _, c := range tap.snapshot() {
		bombed = bombed || (c.accepted && c.toClient.closeCode == 1009)
	}
	if !bombed {
		t.Errorf("the tap saw no 1009 from the server: %v", tap.snapshot())
	}
	servesOrdinaryClient(t, srv)
}

// TestBrowserDeflate: Chromium negotiates permessage-deflate (it offers it
// on every WebSocket), receives compressed broadcasts through a raw
// WebSocket and through comet.js, and compresses what it sends
// (test/browser/deflate.mjs); the tap checks the frames.
func TestBrowserDeflate(t *testing.T) {
	t.Parallel()
	dir := requireBrowser(t)
	srv := startServer(t, "-api-key", apiKey, "-ws-compression", "on")
	tap := startTap(t, srv)
	runBrowser(t, dir, append(browserEnv(t, srv), "COMET_URL="+tap.URL()), "deflate.mjs")
	checkTap(t, tap, false, 3, 1)
}

// TestDeflateOffByDefault: without -ws-compression an offer is declined
// and every frame is plain, for every client.
func TestDeflateOffByDefault(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-api-key", apiKey)
	tap := startTap(t, srv)
	ch := uniqName("off")
	c, resp, err := (&websocket.Dialer{EnableCompression: true}).Dial("ws"+strings.TrimPrefix(tap.URL(), "http")+"/ws?ch="+ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("compression is off, yet Sec-WebSocket-Extensions %q", ext)
	}
	readUntil(t, c, `"op":"sub"`)
	if status, body := apiPost(t, srv, `{"channel":"`+ch+`","data":{"text":"`+strings.Repeat("compressible ", 40)+`"}}`); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	readUntil(t, c, `"op":"msg"`)
	conns := tap.snapshot()
	if len(conns) != 1 || !conns[0].offered || conns[0].accepted || conns[0].toClient.compressed != 0 || conns[0].toClient.data < 2 {
		t.Fatalf("tap: %v", conns)
	}
}

// readUntil reads messages until one holds want.
func readUntil(t *testing.T, c *websocket.Conn, want string) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(hostileTimeout))
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if bytes.Contains(p, []byte(want)) {
			return p
		}
	}
}

// TestHostileDeflateBomb: compressed messages of a few KiB that inflate to
// 16 MiB each, from many connections at once, are each cut with 1009
// once their inflated size passes -max-message-bytes; the server's memory
// stays bounded by that cap, not by what the bombs would inflate to, and a
// subscriber on a compressed connection keeps getting its messages.
func TestHostileDeflateBomb(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-api-key", apiKey, "-ws-compression", "on", "-max-message-bytes", "65536")
	ch := uniqName("bomb")
	sub, resp, err := (&websocket.Dialer{EnableCompression: true}).Dial("ws://"+s.hostAddr()+"/ws?ch="+ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(ext, "permessage-deflate") {
		t.Fatalf("Sec-WebSocket-Extensions %q", ext)
	}
	readUntil(t, sub, `"op":"sub"`)

	inflated := append([]byte(`{"op":"pub","ch":"`+ch+`","data":"`), bytes.Repeat([]byte("A"), 16<<20)...)
	inflated = append(inflated, `"}`...)
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write(inflated)
	_ = w.Flush()
	bomb := bytes.TrimSuffix(z.Bytes(), []byte("\x00\x00\xff\xff"))
	if len(bomb) > 64<<10 {
		t.Fatalf("%d bytes compressed: under the cap on the wire is the point", len(bomb))
	}

	before := s.rss(t)
	const bombs = 20
	codes := make(chan int, bombs)
	for range bombs {
		go func() {
			codes <- deflateBomb(s, bomb)
		}()
	}
	for range bombs {
		if code := <-codes; code != 1009 {
			t.Errorf("bomb answered %d, want close 1009", code)
		}
	}
	// Uncapped, twenty bombs would inflate 320 MiB.
	if grown := s.rss(t) - before; grown > 48<<20 {
		t.Errorf("the server grew by %d MiB under %d bombs", grown>>20, bombs)
	}
	if status, body := apiPost(t, s, `{"channel":"`+ch+`","data":"after the bombs"}`); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	readUntil(t, sub, `"data":"after the bombs"`)
	servesOrdinaryClient(t, s)
}

// deflateBomb opens a WebSocket that negotiates permessage-deflate, sends
// bomb as one compressed text message and returns the close code the
// server answers (-1 for no close frame).
func deflateBomb(s *server, bomb []byte) int {
	c, err := net.DialTimeout("tcp", s.hostAddr(), hostileTimeout)
	if err != nil {
		return -1
	}
	defer c.Close()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(hostileTimeout))
	if _, err := c.Write([]byte(req)); err != nil {
		return -1
	}
	r := &rawWS{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil || resp.StatusCode != 101 || !strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		return -1
	}
	f := frame(1, true, bomb)
	f[0] |= 0x40 // RSV1: compressed (RFC 7692 §6)
	if _, err := c.Write(f); err != nil {
		return -1
	}
	for {
		op, p, err := r.readFrame(hostileTimeout)
		if err != nil {
			return -1
		}
		if op == 8 && len(p) >= 2 {
			return int(binary.BigEndian.Uint16(p))
		}
	}
}
