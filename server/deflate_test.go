package server

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/gobwas/ws"
)

// zClient speaks WebSocket frame by frame with permessage-deflate, so that
// a test sees every frame's RSV1 bit. Frames are read and written with
// gobwas/ws; the data is compressed and inflated with compress/flate
// directly, not with codec, so the server is checked against another
// implementation of RFC 7692.
type zClient struct {
	t   testing.TB
	c   net.Conn
	br  *bufio.Reader
	ext string // the 101's Sec-WebSocket-Extensions
}

// zFrame is one server frame as received; payload is inflated when rsv1.
type zFrame struct {
	op      ws.OpCode
	rsv1    bool
	wire    int // frame bytes on the wire, header included
	header  int // of which the header
	payload []byte
}

// dialDeflate opens path with offer as its Sec-WebSocket-Extensions (none
// when empty) and checks the 101.
func dialDeflate(t testing.TB, addr, path, offer string) *zClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, readTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	z := &zClient{t: t, c: c, br: bufio.NewReader(c)}
	_ = c.SetReadDeadline(time.Now().Add(readTimeout))
	resp, err := http.ReadResponse(z.br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	z.ext = resp.Header.Get("Sec-WebSocket-Extensions")
	return z
}

// inflate is RFC 7692 §7.2.2 with compress/flate: the message, the four
// bytes the sender removed, and a final empty block so it ends in EOF.
func inflate(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	defer r.Close()
	return io.ReadAll(r)
}

// deflate is RFC 7692 §7.2.1 with compress/flate.
func deflate(t testing.TB, p []byte) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte("\x00\x00\xff\xff"))
}

// next reads one frame.
func (z *zClient) next() zFrame {
	z.t.Helper()
	_ = z.c.SetReadDeadline(time.Now().Add(readTimeout))
	h, err := ws.ReadHeader(z.br)
	if err != nil {
		z.t.Fatalf("read header: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(z.br, p); err != nil {
		z.t.Fatalf("read payload: %v", err)
	}
	f := zFrame{op: h.OpCode, rsv1: h.Rsv1(), header: codec.FrameSize(int(h.Length)) - int(h.Length), payload: p}
	f.wire = f.header + int(h.Length)
	if f.rsv1 {
		if f.payload, err = inflate(p); err != nil {
			z.t.Fatalf("inflate a %d-byte frame: %v", len(p), err)
		}
	}
	return f
}

// nextMsg reads the next text frame that is not an epoch event.
func (z *zClient) nextMsg() zFrame {
	z.t.Helper()
	for {
		f := z.next()
		if f.op == ws.OpText && !bytes.HasPrefix(f.payload, []byte(`{"op":"epoch"`)) {
			return f
		}
	}
}

// expect reads the next message and checks that it holds every want.
func (z *zClient) expect(want ...string) zFrame {
	z.t.Helper()
	f := z.nextMsg()
	for _, w := range want {
		if !bytes.Contains(f.payload, []byte(w)) {
			z.t.Fatalf("message %s lacks %s", f.payload, w)
		}
	}
	return f
}

// send writes one masked text message, compressed (RSV1) when asked.
func (z *zClient) send(msg []byte, compress bool) {
	z.t.Helper()
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: ws.NewMask()}
	if compress {
		msg = deflate(z.t, msg)
		h.Rsv = ws.Rsv(true, false, false)
	}
	p := bytes.Clone(msg)
	h.Length = int64(len(p))
	ws.Cipher(p, h.Mask, 0)
	var b bytes.Buffer
	_ = ws.WriteHeader(&b, h)
	b.Write(p)
	if _, err := z.c.Write(b.Bytes()); err != nil {
		z.t.Fatalf("write: %v", err)
	}
}

// subscribe joins ch and reads the reply.
func (z *zClient) subscribe(ch string) {
	z.t.Helper()
	z.send([]byte(`{"op":"sub","ch":"`+ch+`","id":"s"}`), false)
	z.expect(`"op":"sub"`)
}

// closeCode reads until a close frame and returns its code.
func (z *zClient) closeCode() int {
	z.t.Helper()
	for {
		f := z.next()
		if f.op == ws.OpClose {
			if len(f.payload) < 2 {
				z.t.Fatalf("close frame without a code: %q", f.payload)
			}
			return int(binary.BigEndian.Uint16(f.payload))
		}
	}
}

const browserOffer = "permessage-deflate; client_max_window_bits"

// chatData is a chat message's data, long enough to compress.
var chatData = []byte(`{"text":"see you at 8 in the small meeting room, and bring the slides of the quarterly review","from":"alice","mentions":["bob","carol"]}`)

// TestDeflateBroadcast: on a node with compression on, clients that offer
// it get every broadcast message compressed (RSV1), inflating to exactly
// the plain frame's JSON a client without the offer gets, in fewer bytes.
func TestDeflateBroadcast(t *testing.T) {
	srv := startServer(t, Config{Loops: 2, Compression: CompressionOn})
	var zs []*zClient
	for range 4 { // spread over both loops
		z := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
		if !strings.HasPrefix(z.ext, "permessage-deflate") || !strings.Contains(z.ext, "server_no_context_takeover") ||
			!strings.Contains(z.ext, "client_no_context_takeover") {
			t.Fatalf("Sec-WebSocket-Extensions %q", z.ext)
		}
		z.subscribe("room:z")
		zs = append(zs, z)
	}
	plain := dialDeflate(t, srv.Addr(), "/ws", "")
	if plain.ext != "" {
		t.Fatalf("no offer, yet Sec-WebSocket-Extensions %q", plain.ext)
	}
	plain.subscribe("room:z")

	for i := range 3 {
		if _, err := srv.Publish("room:z", chatData); err != nil {
			t.Fatal(err)
		}
		want := plain.expect(`"op":"msg"`, `quarterly review`)
		if want.rsv1 {
			t.Fatal("a client that offered nothing got a compressed frame")
		}
		for _, z := range zs {
			got := z.nextMsg()
			if !got.rsv1 {
				t.Fatalf("message %d: a deflate client got a plain frame: %s", i, got.payload)
			}
			if !bytes.Equal(got.payload, want.payload) {
				t.Fatalf("message %d inflates to\n%s\nwant\n%s", i, got.payload, want.payload)
			}
			if got.wire >= want.wire {
				t.Fatalf("compressed frame %d bytes, plain %d", got.wire, want.wire)
			}
		}
	}
}

// TestDeflateOff: with compression off (the default) an offer is declined:
// no extension in the 101, plain frames, and RSV1 from the client is a
// protocol error (1002), as on any connection without the extension.
func TestDeflateOff(t *testing.T) {
	srv := startServer(t, Config{})
	z := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	if z.ext != "" {
		t.Fatalf("compression off, yet Sec-WebSocket-Extensions %q", z.ext)
	}
	z.subscribe("room:off")
	if _, err := srv.Publish("room:off", chatData); err != nil {
		t.Fatal(err)
	}
	if f := z.expect(`quarterly review`); f.rsv1 {
		t.Fatal("compressed frame without the extension")
	}
	z.send([]byte(`{"op":"ping"}`), true)
	if code := z.closeCode(); code != 1002 {
		t.Fatalf("RSV1 without the extension: close %d, want 1002", code)
	}
}

// TestDeflateSmallWindow: a client that limits the server's window
// (server_max_window_bits below 15) is accepted, the limit repeated, and
// sent plain frames, which RFC 7692 §6 allows; it may still send
// compressed messages.
func TestDeflateSmallWindow(t *testing.T) {
	srv := startServer(t, Config{Compression: CompressionOn})
	z := dialDeflate(t, srv.Addr(), "/ws", "permessage-deflate; server_max_window_bits=10")
	if !strings.Contains(z.ext, "server_max_window_bits=10") {
		t.Fatalf("Sec-WebSocket-Extensions %q", z.ext)
	}
	z.subscribe("room:w")
	if _, err := srv.Publish("room:w", chatData); err != nil {
		t.Fatal(err)
	}
	if f := z.expect(`quarterly review`); f.rsv1 {
		t.Fatal("compressed frame for a client whose window is smaller than the server's")
	}
	z.send([]byte(`{"op":"pub","ch":"room:w","data":`+string(chatData)+`,"id":"p"}`), true)
	z.expect(`"op":"ok"`, `"id":"p"`)
}

// TestDeflatePublish: a client publishes compressed messages; they are
// inflated, published, and reach a plain subscriber and a deflate one.
func TestDeflatePublish(t *testing.T) {
	srv := startServer(t, Config{Compression: CompressionOn})
	pub := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	plain := dialDeflate(t, srv.Addr(), "/ws", "")
	plain.subscribe("room:p")
	sub := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	sub.subscribe("room:p")
	pub.send([]byte(`{"op":"pub","ch":"room:p","data":`+string(chatData)+`,"id":"p1"}`), true)
	pub.expect(`"op":"ok"`, `"id":"p1"`, `"seq":1`)
	want := plain.expect(`"op":"msg"`, `"seq":1`, `quarterly review`)
	if got := sub.nextMsg(); !got.rsv1 || !bytes.Equal(got.payload, want.payload) {
		t.Fatalf("deflate subscriber got rsv1=%v %s, want compressed %s", got.rsv1, got.payload, want.payload)
	}
	var m struct{ Data, Want any }
	if json.Unmarshal(want.payload, &m) != nil || json.Unmarshal(chatData, &m.Want) != nil {
		t.Fatalf("not JSON: %s", want.payload)
	}
	if !jsonEqual(m.Data, m.Want) {
		t.Fatalf("data %v, want %s", m.Data, chatData)
	}
}

// TestDeflateBomb: a compressed message that inflates past MaxMessageBytes
// (a few KiB on the wire, megabytes inflated) is cut with 1009, and the
// node goes on serving others, compressed and plain.
func TestDeflateBomb(t *testing.T) {
	// No pings: compressing 16 MiB in the test (under -race, on a loaded
	// machine) can take longer than a pong timeout, and the test's client
	// answers none.
	srv := startServer(t, Config{Compression: CompressionOn, MaxMessageBytes: 64 << 10, PingInterval: 10 * time.Minute})
	bystander := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	bystander.subscribe("room:b")
	bomb := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	payload := append([]byte(`{"op":"pub","ch":"room:b","data":"`), bytes.Repeat([]byte{'a'}, 16<<20)...)
	payload = append(payload, `"}`...)
	if z := deflate(t, payload); len(z) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed: not a bomb", len(z))
	}
	bomb.send(payload, true)
	if code := bomb.closeCode(); code != 1009 {
		t.Fatalf("compression bomb: close %d, want 1009", code)
	}
	if _, err := srv.Publish("room:b", chatData); err != nil {
		t.Fatal(err)
	}
	if f := bystander.expect(`quarterly review`); !f.rsv1 {
		t.Fatal("bystander got a plain frame")
	}
	servesAnother := dialDeflate(t, srv.Addr(), "/ws", browserOffer)
	servesAnother.send([]byte(`{"op":"ping","id":"x"}`), true)
	servesAnother.expect(`"op":"pong"`)
}

// TestDeflateEcho: /echo compresses what it sends back where negotiated.
func TestDeflateEcho(t *testing.T) {
	srv := startServer(t, Config{Compression: CompressionOn, Echo: true})
	z := dialDeflate(t, srv.Addr(), "/echo", browserOffer)
	if !strings.HasPrefix(z.ext, "permessage-deflate") {
		t.Fatalf("Sec-WebSocket-Extensions %q", z.ext)
	}
	z.send(chatData, true)
	if f := z.nextMsg(); !f.rsv1 || !bytes.Equal(f.payload, chatData) {
		t.Fatalf("echo: rsv1=%v %s", f.rsv1, f.payload)
	}
}

// TestDeflateFrameBuiltOnce: loops that want a message's compressed frame
// at the same moment get the same bytes, built once; a payload below
// conn.DeflateMinBytes, or one that does not shrink, shares the plain
// frame.
func TestDeflateFrameBuiltOnce(t *testing.T) {
	for i := range 50 {
		m := messageOf(&broker.Publication{Channel: "room:once", Epoch: "e", Seq: uint64(i + 1), Time: 1, Data: chatData})
		const loops = 8
		frames := make([][]byte, loops)
		var start, done sync.WaitGroup
		start.Add(1)
		for j := range loops {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				frames[j] = m.wsFrame(true)
			}()
		}
		start.Done()
		done.Wait()
		for j, f := range frames {
			if unsafe.SliceData(f) != unsafe.SliceData(frames[0]) {
				t.Fatalf("message %d: loop %d got a frame built separately", i, j)
			}
		}
		if f := frames[0]; f[0] != 0xc1 || len(f) >= len(m.frame) {
			t.Fatalf("first byte %#x (want FIN|RSV1|text), %d bytes for a %d-byte plain frame", f[0], len(f), len(m.frame))
		}
		if p := m.wsFrame(false); unsafe.SliceData(p) != unsafe.SliceData(m.frame) {
			t.Fatal("a plain connection did not get the plain frame")
		}
	}
	small := messageOf(&broker.Publication{Channel: "c", Epoch: "e", Seq: 1, Time: 1, Data: []byte(`1`)})
	if len(small.json) >= conn.DeflateMinBytes {
		t.Fatalf("%d-byte envelope: not small", len(small.json))
	}
	if f := small.wsFrame(true); unsafe.SliceData(f) != unsafe.SliceData(small.frame) {
		t.Fatal("a small message was compressed")
	}
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*2654435761>>13) ^ byte(i>>3)
	}
	noisy := messageOf(&broker.Publication{Channel: "c", Epoch: "e", Seq: 1, Time: 1, Data: noise})
	if f := noisy.wsFrame(true); len(f) > len(noisy.frame) {
		t.Fatalf("a frame that does not shrink: %d bytes for %d plain", len(f), len(noisy.frame))
	}
}

// deflateSessions makes every subscriber of newBenchLoop's loop a deflate
// connection, as an upgrade with an accepted full-window offer does.
func deflateSessions(l *loop, every int) {
	var env conn.Env
	for i, s := range l.sessions {
		if i%every == 0 {
			env.Out = env.Out[:0]
			s.UpgradeDeflate(&env, []byte("dGhlIHNhbXBsZSBub25jZQ=="), codec.DeflateParams{})
		}
	}
}

// TestDeflateDeliver: one delivery to a loop of deflate and plain
// subscribers writes the compressed frame to the first, the plain one to
// the others, and allocates nothing once the compressed frame is built.
func TestDeflateDeliver(t *testing.T) {
	l, m := newBenchLoop(t, 100, kindNative)
	deflateSessions(l, 2)
	l.deliver(m)
	z := m.wsFrame(true)
	for i, s := range l.sessions {
		cc := s.gc.(*countingConn)
		want := m.frame
		if s.Deflate() {
			want = z
		}
		if cc.bytes != len(want) || !bytes.Equal(cc.last[:cc.lastN], want[:min(len(want), len(cc.last))]) {
			t.Fatalf("subscriber %d (deflate %v): wrote %d bytes % x, want %d % x", i, s.Deflate(), cc.bytes,
				cc.last[:cc.lastN], len(want), want[:min(len(want), 16)])
		}
	}
	if raceEnabled {
		return // the race detector allocates on its own; make test runs this test again without -race
	}
	allocs := testing.AllocsPerRun(100, func() {
		m.pub.Seq++
		l.deliver(m)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per fan-out to 100 subscribers, half deflate, want 0", allocs)
	}
}
