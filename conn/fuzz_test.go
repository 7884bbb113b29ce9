package conn

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed seed corpus under testdata/fuzz")

// fuzzLimits are small enough for the fuzzer to reach every cap.
var fuzzLimits = Limits{
	Head:            codec.Limits{MaxHeaderBytes: 512, MaxHeaders: 16, MaxTargetBytes: 128},
	MaxBodyBytes:    64,
	MaxMessageBytes: 64,
}

// fuzzSeed is one FuzzFeed input: raw bytes are an HTTP stream; otherwise
// they follow upgradeReq, so they are WebSocket frames.
type fuzzSeed struct {
	raw  bool
	data []byte
}

func feedSeeds() []fuzzSeed {
	return []fuzzSeed{
		{false, text("hello")},
		{false, cat(frame(false, 0, ws.OpText, "echo:Hel"), ping("p"), frame(false, 0, ws.OpContinuation, "lo, "), frame(true, 0, ws.OpContinuation, "world"))},
		{false, cat(text("bye"), closeCode(1000, ""))},
		{false, cat(ping("x"), closeCode(1001, "going"), text("late"))},
		{false, cat(text("a"), unmaskedFrame(ws.OpText, "b"))},
		{false, cat(frame(false, 0, ws.OpText, "\xce"), frame(true, 0, ws.OpContinuation, "\xba"), text("\xff"))},
		{false, frameLen(true, 0, ws.OpBinary, 65, "")},
		{false, cat(frame(false, 0, ws.OpBinary, strings.Repeat("b", 40)), frame(true, 0, ws.OpContinuation, strings.Repeat("c", 30)))},
		{false, cat(frame(true, 4, ws.OpText, "rsv"), frame(true, 0, 0xb, ""))},
		{false, cat(frame(true, 0, ws.OpClose, "\x03"), closeCode(1005, ""), closeCode(1000, "\xff"))},
		{false, []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		{true, str(getHello + getWorld)},
		{true, str(postHead + "hello world" + getHello)},
		{true, str(chunkHead + chunkBody + getHello)},
		{true, str(chunkHead + "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")},
		{true, cat(str(upgradeReq), text("echo:up"), ping("p"), closeCode(1000, ""))},
		{true, str("GET /park HTTP/1.1\r\nHost: h\r\n\r\n" + getHello)},
		{true, str("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + getHello)},
		{true, str("GET / HTTP/1.1\nHost: h\r\n\r\n")},
		{true, str("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ws HTTP/1.1\r\nHost: h\r\n\r\n")},
		{false, cat(text(strings.Repeat("ab", 30)), frame(false, 0, ws.OpText, "κό"), frame(true, 0, ws.OpContinuation, "σμε"))},
		{false, cat(frameLen(true, 0, ws.OpText, 40, "valid then \xc3\x28"), text("x"))},
		{false, cat(frame(false, 0, ws.OpText, "\xe2"), frame(false, 0, ws.OpContinuation, "\x82"), frame(true, 0, ws.OpContinuation, "\xac"))},
		{true, str(chunkHead + "3\r\nabc\r\n" + strings.Repeat("1;e\r\nx\r\n", 5) + "0\r\n\r\n" + postHead + "hello world")},
		{true, str(chunkHead + "41\r\n" + strings.Repeat("y", 65) + "\r\n0\r\n\r\n")},
	}
}

// FuzzFeed drives a connection with arbitrary bytes, fed whole and fed in
// two reads split at a fuzzer-chosen point, the second read being the
// unconsumed rest of the first with the remaining bytes appended, as the
// server feeds it. It must never panic, consume within bounds, write
// well-formed output, never hand the handler an invalid message, and give
// the same handler calls, output, state, reason and leftover either way.
func FuzzFeed(f *testing.F) {
	for i, s := range feedSeeds() {
		f.Add(s.data, uint16(i*7), s.raw)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, raw bool) {
		in := data
		if !raw {
			in = cat(str(upgradeReq), data)
		}
		fuzzFeed(t, in, split, false)
	})
}

// deflateSeeds are FuzzFeedDeflate inputs: frames after upgradeDeflateReq.
func deflateSeeds() [][]byte {
	return [][]byte{
		ztext("hello"),
		cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello[:3]), ping("p"), frame(true, 0, ws.OpContinuation, rfcHello[3:])),
		ztext("echo:" + strings.Repeat("compress me ", 8)),
		zframe(true, ws.OpBinary, string(make([]byte, 200))),
		cat(ztext("ok"), text("plain"), frame(true, codec.RsvDeflate, ws.OpText, "\x07\x00")),
		cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello[:3]), frame(true, codec.RsvDeflate, ws.OpContinuation, rfcHello[3:])),
		frame(true, codec.RsvDeflate, ws.OpPing, "p"),
		cat(ztext("bye"), closeCode(1000, ""), ztext("late")),
		ztext("κόσμε \xc3\x28"),
		cat(frame(false, codec.RsvDeflate, ws.OpText, rfcHello+"\x00\x00\xff\xff"), frame(true, 0, ws.OpContinuation, "\x00")),
	}
}

// FuzzFeedDeflate is FuzzFeed on a connection that negotiated
// permessage-deflate: the same checks, compressed frames allowed in the
// output, and no message over MaxMessageBytes, however it was compressed.
func FuzzFeedDeflate(f *testing.F) {
	for i, s := range deflateSeeds() {
		f.Add(s, uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		fuzzFeed(t, cat(str(upgradeDeflateReq), data), split, true)
	})
}

// fuzzFeed feeds in whole, in two reads split at split, and in reads of
// 1 to 16 bytes, and requires the same outcome each way.
func fuzzFeed(t *testing.T, in []byte, split uint16, deflate bool) {
	whole := newHarness(fuzzLimits)
	whole.h.deflate = deflate
	whole.feed(t, in) // feed copies: Feed unmasks in place
	w := whole.result()
	checkFeedResult(t, whole, len(in))

	k := int(split) % (len(in) + 1)
	two := newHarness(fuzzLimits)
	two.h.deflate = deflate
	n1 := two.feed(t, in[:k])
	// A server skips Feed while fewer than Need() bytes are buffered;
	// when even the whole input is short of Need(), feeding it must
	// make no more progress than the first read did.
	if need := two.c.Need(); need > len(in)-n1 {
		first := two.result()
		first.calls = slices.Clone(first.calls)
		first.out = bytes.Clone(first.out)
		if len(w.calls) != len(first.calls) || len(w.out) != len(first.out) || w.state != first.state {
			t.Fatalf("after %d of %d bytes Need() = %d, yet the whole input makes progress:\nfirst %q %q %v\nwhole %q %q %v",
				k, len(in), need, first.calls, first.out, first.state, w.calls, w.out, w.state)
		}
	}
	two.feed(t, in[k:])
	checkFeedResult(t, two, len(in))
	if got := two.result(); !got.equal(w) {
		t.Fatalf("split at %d of %d differs:\nsplit %q %q %v %v %q\nwhole %q %q %v %v %q", k, len(in),
			got.calls, got.out, got.state, got.reason, got.leftover,
			w.calls, w.out, w.state, w.reason, w.leftover)
	}

	// Many small reads (1 to 16 bytes, as split says), honouring Need()
	// like the server: payloads and chunked bodies are then consumed
	// across many reads, with every mask offset and rune cut.
	size := int(split%16) + 1
	small := newHarness(fuzzLimits)
	small.h.deflate = deflate
	for off := 0; off < len(in); off += size {
		piece := in[off:min(off+size, len(in))]
		if need := small.c.Need(); need > len(small.buf)+len(piece) && off+size < len(in) {
			small.buf = append(small.buf, piece...)
			continue
		}
		small.feed(t, piece)
		if small.c.State() == StateClosing && small.c.holdsBuffers() {
			t.Fatal("closing connection holds a buffer")
		}
	}
	checkFeedResult(t, small, len(in))
	if got := small.result(); !got.equal(w) {
		t.Fatalf("reads of %d bytes differ:\nsmall %q %q %v %v %q\nwhole %q %q %v %v %q", size,
			got.calls, got.out, got.state, got.reason, got.leftover,
			w.calls, w.out, w.state, w.reason, w.leftover)
	}
}

// checkFeedResult checks what holds after any input of n bytes.
func checkFeedResult(t *testing.T, hs *harness, n int) {
	t.Helper()
	if len(hs.buf) > n {
		t.Fatalf("leftover %d bytes of %d", len(hs.buf), n)
	}
	if _, err := renderFrames(hs.env.Out, false, hs.c.Deflate()); err != nil {
		t.Fatalf("malformed output: %v\n%q", err, hs.env.Out)
	}
	for _, c := range hs.h.calls {
		if strings.HasPrefix(c, "!") {
			t.Fatalf("%s: %q", c, hs.h.calls)
		}
	}
	switch st := hs.c.State(); st {
	case StateClosed:
		if len(hs.buf) != 0 {
			t.Fatalf("closed with %d bytes unconsumed", len(hs.buf))
		}
		if hs.c.Reason() == ReasonNone {
			t.Fatal("closed without a reason")
		}
		if hs.c.holdsBuffers() {
			t.Fatal("closed holding a buffer")
		}
		if hs.c.InMessage() {
			t.Fatal("closed in the middle of a message")
		}
	case StateHead, StateWebSocket, StateParked:
		if hs.c.Reason() != ReasonNone {
			t.Fatalf("%v with reason %v", st, hs.c.Reason())
		}
	case StateClosing:
		if hs.c.Reason() != ReasonNormal {
			t.Fatalf("closing with reason %v", hs.c.Reason())
		}
	}
	// Bytes left over in a live connection are an incomplete request or
	// frame: feeding them again changes nothing.
	if st := hs.c.State(); st != StateClosed && st != StateParked && len(hs.buf) > 0 {
		before := len(hs.env.Out)
		if m := hs.c.Feed(&hs.env, &hs.h, bytes.Clone(hs.buf)); m != 0 || len(hs.env.Out) != before || hs.c.State() != st {
			t.Fatalf("leftover %q was not an incomplete unit: consumed %d", hs.buf, m)
		}
	}
}

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzFeed/seed-* from
// feedSeeds, and testdata/fuzz/FuzzFeedDeflate/seed-* from deflateSeeds,
// when run with -update-seeds.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzFeed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range feedSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\nbool(%v)\n", s.data, len(s.data)/2, s.raw)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzFeedDeflate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range deflateSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\n", s, len(s)/2)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
