package conn

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// captureHandler keeps a copy of every message it is handed.
type captureHandler struct{ msgs [][]byte }

func (h *captureHandler) OnRequest(*Env, *codec.Request, []byte) {}
func (h *captureHandler) OnMessage(_ *Env, _ ws.OpCode, p []byte) {
	h.msgs = append(h.msgs, bytes.Clone(p))
}

// feedReads feeds in to c in reads of size bytes the way the server does:
// Feed is skipped while fewer than Need() bytes are buffered, unconsumed
// bytes are kept and the next read appended. It returns the most bytes
// ever left buffered between reads.
func feedReads(t *testing.T, c *Conn, env *Env, h Handler, in []byte, size int) (maxBuffered int) {
	t.Helper()
	var buf []byte
	for off := 0; off < len(in); off += size {
		buf = append(buf, in[off:min(off+size, len(in))]...)
		if need := c.Need(); need > 0 && len(buf) < need {
			maxBuffered = max(maxBuffered, len(buf))
			continue
		}
		n := c.Feed(env, h, buf)
		buf = append(buf[:0], buf[n:]...)
		maxBuffered = max(maxBuffered, len(buf))
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left unconsumed", len(buf))
	}
	return maxBuffered
}

// TestStreamLargeFrame: a frame far larger than a read is consumed as it
// arrives, so the owner never buffers more than a header, and is delivered
// intact; fragmented, and in reads of one byte, too.
func TestStreamLargeFrame(t *testing.T) {
	unit := "0123456789abcdefκόσμε" // 26 bytes: reads cut its 2-byte runes
	payload := strings.Repeat(unit, 10000)
	short, shorter := payload[:26*200], payload[:26*100]
	for _, tc := range []struct {
		name string
		in   []byte
		want string
		read int
	}{
		{"one frame, 1460-byte reads", text(payload), payload, 1460},
		{"one frame, 7-byte reads", text(short), short, 7},
		{"one frame, 1-byte reads", text(shorter), shorter, 1},
		{"fragments, 1000-byte reads", cat(frame(false, 0, ws.OpText, payload[:100001]), ping("p"),
			frame(false, 0, ws.OpContinuation, payload[100001:100002]), frame(true, 0, ws.OpContinuation, payload[100002:])), payload, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, env := wsConn()
			env.Limits.MaxMessageBytes = 1 << 20
			var h captureHandler
			if got := feedReads(t, c, env, &h, bytes.Clone(tc.in), tc.read); got > 14 {
				t.Errorf("the owner had to buffer %d bytes; a header is at most 14", got)
			}
			if len(h.msgs) != 1 || string(h.msgs[0]) != tc.want {
				t.Fatalf("got %d messages, first %d bytes; want one of %d", len(h.msgs), lenFirst(h.msgs), len(tc.want))
			}
			if c.State() != StateWebSocket || c.holdsBuffers() || c.InMessage() {
				t.Fatalf("after the message: state %v, buffers held %v, in message %v", c.State(), c.holdsBuffers(), c.InMessage())
			}
		})
	}
}

func lenFirst(m [][]byte) int {
	if len(m) == 0 {
		return -1
	}
	return len(m[0])
}

// TestStreamEqualsWhole: a script of frames gives the same messages and
// output fed whole and in every read size from 1 to 40.
func TestStreamEqualsWhole(t *testing.T) {
	script := cat(text("short"), text(strings.Repeat("é", 300)), frame(false, 0, ws.OpBinary, strings.Repeat("\xff", 200)),
		ping("mid"), frame(true, 0, ws.OpContinuation, "end"), frame(false, 0, ws.OpText, ""), frame(true, 0, ws.OpContinuation, "x"))
	run := func(read int) ([][]byte, []byte) {
		c, env := wsConn()
		var h captureHandler
		feedReads(t, c, env, &h, bytes.Clone(script), read)
		return h.msgs, env.Out
	}
	wantMsgs, wantOut := run(len(script))
	if len(wantMsgs) != 4 {
		t.Fatalf("whole: %d messages", len(wantMsgs))
	}
	for read := 1; read <= 40; read++ {
		msgs, out := run(read)
		if len(msgs) != len(wantMsgs) || !bytes.Equal(out, wantOut) {
			t.Fatalf("reads of %d: %d messages, out %q; want %d, %q", read, len(msgs), out, len(wantMsgs), wantOut)
		}
		for i := range msgs {
			if !bytes.Equal(msgs[i], wantMsgs[i]) {
				t.Fatalf("reads of %d: message %d differs", read, i)
			}
		}
	}
}

// TestInMessage follows InMessage and Messages through frames, fragments,
// a chunked request and a close.
func TestInMessage(t *testing.T) {
	hs := newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	check := func(step string, in bool, msgs uint32) {
		t.Helper()
		if hs.c.InMessage() != in || hs.c.Messages() != msgs {
			t.Fatalf("%s: InMessage %v Messages %d, want %v %d", step, hs.c.InMessage(), hs.c.Messages(), in, msgs)
		}
	}
	check("upgraded", false, 0)
	hs.feed(t, text("hi")[:4])
	check("partial header", false, 0)
	hs.feed(t, text("hi")[4:])
	check("whole frame", false, 1)
	long := text(strings.Repeat("z", 300))
	hs.feed(t, long[:10])
	check("header and some payload", true, 2)
	hs.feed(t, long[10:])
	check("payload done", false, 2)
	hs.feed(t, frame(false, 0, ws.OpText, "a"))
	check("first fragment", true, 3)
	hs.feed(t, ping("p"))
	check("ping between fragments", true, 3)
	hs.feed(t, frame(false, 0, ws.OpContinuation, ""))
	check("empty fragment", true, 3)
	hs.feed(t, frame(true, 0, ws.OpContinuation, "b"))
	check("last fragment", false, 3)
	hs.feed(t, long[:10])
	hs.c.Close(&hs.env, ReasonShutdown)
	check("closing mid-frame", true, 4)
	if hs.c.holdsBuffers() {
		t.Fatal("closing connection keeps its message buffer")
	}
	hs.feed(t, long[10:])
	check("closing, frame done", false, 4)
	hs.feed(t, closeCode(1000, ""))
	check("closed", false, 4)

	hs = newHarness(Limits{})
	hs.feed(t, str(chunkHead+"5\r\nhel"))
	if !hs.c.InMessage() || hs.c.Messages() != 1 || len(hs.buf) != 0 {
		t.Fatalf("chunked body arriving: InMessage %v Messages %d, %d bytes left to the owner", hs.c.InMessage(), hs.c.Messages(), len(hs.buf))
	}
	hs.feed(t, str("lo\r\n0\r\n\r\n"))
	if hs.c.InMessage() || hs.c.holdsBuffers() {
		t.Fatal("chunked request done, yet still in a message or holding buffers")
	}
	wantCalls(t, hs, `req POST /pub "hello"`)
	hs.feed(t, str(postHead+"hello"))
	if hs.c.InMessage() {
		t.Fatal("a Content-Length body waits in the owner's buffer, not in the Conn")
	}
}

// TestBuffersReleased: every way a connection ends returns what it holds,
// and a connection holds nothing between messages.
func TestBuffersReleased(t *testing.T) {
	midMessage := func() *harness {
		hs := newHarness(Limits{})
		hs.toState(t, StateWebSocket)
		hs.feed(t, frame(false, 0, ws.OpText, "part"))
		if !hs.c.holdsBuffers() {
			t.Fatal("no buffer while reassembling")
		}
		return hs
	}
	midChunked := func() *harness {
		hs := newHarness(Limits{})
		hs.feed(t, str(chunkHead+"5\r\nhe"))
		if !hs.c.holdsBuffers() {
			t.Fatal("no state for a chunked body in progress")
		}
		return hs
	}
	for name, end := range map[string]func(*harness){
		"Close":          func(hs *harness) { hs.c.Close(&hs.env, ReasonPolicy) },
		"Close shutdown": func(hs *harness) { hs.c.Close(&hs.env, ReasonShutdown) },
		"Abort":          func(hs *harness) { hs.c.Abort(ReasonIdleTimeout) },
		"Closed":         func(hs *harness) { hs.c.Closed() },
		"Reject":         func(hs *harness) { hs.c.Reject(&hs.env, 408, nil) },
	} {
		for what, start := range map[string]func() *harness{"message": midMessage, "chunked": midChunked} {
			hs := start()
			end(hs)
			if hs.c.holdsBuffers() {
				t.Errorf("%s in a %s: buffers kept", name, what)
			}
		}
	}
	hs := newHarness(Limits{})
	hs.toState(t, StateWebSocket)
	hs.feed(t, cat(frame(false, 0, ws.OpText, "a"), frame(true, 0, ws.OpContinuation, "b")))
	if hs.c.holdsBuffers() {
		t.Fatal("buffer kept after the message was delivered")
	}
}

// TestPoolDropsLargeBuffers: a buffer grown past maxPooledBytes goes to the
// GC, not back to the pool, so one huge message does not pin its memory.
func TestPoolDropsLargeBuffers(t *testing.T) {
	for range 4 {
		b := getMessageBuffer()
		b.B = append(b.B[:0], make([]byte, 2*maxPooledBytes)...)
		putMessageBuffer(b)
		if got := getMessageBuffer(); cap(got.B) > maxPooledBytes {
			t.Fatalf("pool returned a %d-byte buffer", cap(got.B))
		}
		ck := getChunkedBody()
		ck.body = make([]byte, 0, 2*maxPooledBytes)
		ck.head = make([]byte, 0, 2*maxPooledBytes)
		putChunkedBody(ck)
		if got := getChunkedBody(); cap(got.body) > maxPooledBytes || cap(got.head) > maxPooledBytes {
			t.Fatalf("chunked pool returned %d/%d-byte buffers", cap(got.head), cap(got.body))
		}
	}
	// Small ones are reused.
	b := getMessageBuffer()
	b.B = append(b.B[:0], "keep"...)
	putMessageBuffer(b)
	if got := getMessageBuffer(); len(got.B) != 0 {
		t.Fatalf("pooled buffer not emptied: %q", got.B)
	}
}

// TestLargeMessagesLeaveNothingPooled: after three 16 MiB messages
// streamed in 64 KiB reads, one GC leaves no large buffer alive. A pool
// that kept them (as before) would hold 16 MiB until a second GC, and
// hand it to the next small message.
func TestLargeMessagesLeaveNothingPooled(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	func() {
		c, env := wsConn()
		env.Limits.MaxMessageBytes = 16 << 20
		msg := frame(true, 0, ws.OpBinary, strings.Repeat("m", 16<<20))
		work := make([]byte, len(msg))
		for range 3 {
			copy(work, msg)
			for off := 0; off < len(work); {
				end := min(off+64<<10, len(work))
				off += c.Feed(env, nopHandler{}, work[off:end])
			}
			if c.State() != StateWebSocket || c.InMessage() || c.holdsBuffers() {
				t.Fatalf("state %v, in message %v, buffers %v", c.State(), c.InMessage(), c.holdsBuffers())
			}
		}
	}()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Fatalf("%d MiB still allocated after the messages", grown>>20)
	}
}
