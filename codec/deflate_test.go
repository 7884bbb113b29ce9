package codec

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// rfcHello is "Hello" compressed in one DEFLATE block (RFC 7692 §7.2.3.1).
var rfcHello = []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}

// TestInflateRFCVectors inflates the payloads of RFC 7692 §7.2.3, each the
// concatenated payload of the frames of one message.
func TestInflateRFCVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
		err  error
	}{
		{"7.2.3.1 one compressed block", rfcHello, "Hello", nil},
		{"7.2.3.1 in two fragments", cat([]byte{0xf2, 0x48, 0xcd}, []byte{0xc9, 0xc9, 0x07, 0x00}), "Hello", nil},
		// The second message of §7.2.3.2 refers back into the first: with
		// no context takeover, that distance is past the window's start.
		{"7.2.3.2 second message without the first's window", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, "", ErrBadDeflate},
		{"7.2.3.3 a stored block", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, "Hello", nil},
		{"7.2.3.4 BFINAL set", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, "Hello", nil},
		{"7.2.3.5 two blocks", []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, "Hello", nil},
		// §7.2.3.6: a sync-flushed fragment, then a final fragment that is
		// the header byte of an empty stored block.
		{"7.2.3.6 empty final fragment", cat(rfcHello, []byte(deflateTail), []byte{0x00}), "Hello", nil},
		{"empty message", []byte{0x00}, "", nil},
		{"empty payload is no DEFLATE data", nil, "", ErrBadDeflate},
		{"cut inside a block", rfcHello[:3], "", ErrBadDeflate},
		{"reserved block type", []byte{0x07, 0x00}, "", ErrBadDeflate},
		{"stored block with a bad NLEN", []byte{0x00, 0x05, 0x00, 0xfa, 0xfe, 'H', 'e', 'l', 'l', 'o', 0x00}, "", ErrBadDeflate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendInflate(nil, tc.in, 1<<10)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err == nil && string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDeflateRFCVector: at BestSpeed, compress/flate stores a message of
// up to 16 bytes in a stored block, so "Hello" comes out exactly as RFC
// 7692 §7.2.3.3 shows it, frame header included.
func TestDeflateRFCVector(t *testing.T) {
	stored := []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}
	if got := AppendDeflate(nil, []byte("Hello")); !bytes.Equal(got, stored) {
		t.Errorf("AppendDeflate(Hello) = % x, want % x", got, stored)
	}
	want := cat([]byte{0xc1, 0x0b}, stored)
	if got := AppendDeflateFrame(nil, ws.OpText, []byte("Hello")); !bytes.Equal(got, want) {
		t.Errorf("AppendDeflateFrame(Hello) = % x, want % x", got, want)
	}
	// An empty message is the one byte of an empty block's header bits.
	if got := AppendDeflate(nil, nil); !bytes.Equal(got, []byte{0x00}) {
		t.Errorf("AppendDeflate(empty) = % x, want 00", got)
	}
}

// testPayloads are the shapes messages take: empty, tiny, chat JSON,
// repetitive, incompressible, and past one 64 KiB stored block and the
// 32 KiB window.
func testPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":   nil,
		"1B":      []byte("x"),
		"json":    []byte(`{"op":"msg","ch":"room:42","seq":1017,"t":1700000000123,"from":"alice","data":{"text":"see you at 8, bring the slides"}}`),
		"repeat":  []byte(strings.Repeat("κόσμε abcdefgh ", 20000)),
		"random":  random,
		"zeros1M": make([]byte, 1<<20),
	}
}

// TestDeflateRoundTrip: what AppendDeflate writes, AppendInflate and an
// independent decoder (compress/flate's reader, fed the RFC 7692 §7.2.2
// tail) both read back; dst's prefix is kept.
func TestDeflateRoundTrip(t *testing.T) {
	for name, p := range testPayloads() {
		t.Run(name, func(t *testing.T) {
			c := AppendDeflate([]byte("prefix"), p)
			if !bytes.HasPrefix(c, []byte("prefix")) {
				t.Fatal("prefix lost")
			}
			c = c[len("prefix"):]
			if bytes.HasSuffix(c, []byte(deflateTail)) {
				t.Errorf("the %q tail was not removed", deflateTail)
			}
			got, err := AppendInflate([]byte("pre"), c, len(p))
			if err != nil || !bytes.Equal(got[3:], p) || string(got[:3]) != "pre" {
				t.Fatalf("AppendInflate: %v, %d bytes", err, len(got))
			}
			oracle, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(c), strings.NewReader(deflateTail))))
			if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(oracle, p) {
				t.Fatalf("compress/flate reads %d bytes, %v", len(oracle), err)
			}
			f := AppendDeflateFrame([]byte{1, 2}, ws.OpBinary, p)
			h, n, err := ParseFrameHeader(f[2:])
			if err != nil || !h.Fin || h.Rsv != RsvDeflate || h.OpCode != ws.OpBinary || h.Length != int64(len(c)) || !bytes.Equal(f[2+n:], c) {
				t.Fatalf("frame %+v %v: payload differs from AppendDeflate", h, err)
			}
		})
	}
}

// TestInflateLimit: exactly limit bytes pass; one more fails with
// ErrInflateTooLarge, and the output never grows past the limit.
func TestInflateLimit(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 4096, 70000} {
		p := bytes.Repeat([]byte("ab"), size)[:size]
		c := AppendDeflate(nil, p)
		if got, err := AppendInflate(nil, c, size); err != nil || !bytes.Equal(got, p) {
			t.Errorf("%d bytes at limit %d: %v", size, size, err)
		}
		if size == 0 {
			continue
		}
		got, err := AppendInflate(nil, c, size-1)
		if !errors.Is(err, ErrInflateTooLarge) {
			t.Errorf("%d bytes at limit %d: %v, want ErrInflateTooLarge", size, size-1, err)
		}
		if cap(got) > size-1 {
			t.Errorf("%d bytes at limit %d: grew to %d", size, size-1, cap(got))
		}
	}
	// A caller's spare capacity past the limit is not written to either.
	dst := make([]byte, 0, 100)
	got, err := AppendInflate(dst, AppendDeflate(nil, make([]byte, 50)), 10)
	if !errors.Is(err, ErrInflateTooLarge) || len(got) != 10 {
		t.Errorf("limit 10 in a 100-byte buffer: %d bytes, %v", len(got), err)
	}
}

// TestInflateZipBomb: 16 MiB of zeros compress to about 16 KiB; inflating
// them under a 64 KiB limit fails with ErrInflateTooLarge having allocated
// little more than the limit (the pooled decompressor is warmed first).
func TestInflateZipBomb(t *testing.T) {
	bomb := AppendDeflate(nil, make([]byte, 16<<20))
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	const limit = 64 << 10
	if _, err := AppendInflate(nil, rfcHello, limit); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := AppendInflate(nil, bomb, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrInflateTooLarge) {
		t.Fatalf("err %v, want ErrInflateTooLarge", err)
	}
	if len(out) != limit || cap(out) != limit {
		t.Errorf("output %d bytes, capacity %d; want both %d", len(out), cap(out), limit)
	}
	// The output's growth steps (512 B... 64 KiB) sum to under twice the
	// limit; anything near 16 MiB would mean the cap was not held.
	if got := after.TotalAlloc - before.TotalAlloc; got > 3*limit {
		t.Errorf("inflating the bomb allocated %d bytes, limit %d", got, limit)
	}
}

// TestInflatePooledStateIsReset: a message that refers back into the one
// inflated before it fails: the pooled decompressor keeps no window across
// calls (no context takeover).
func TestInflatePooledStateIsReset(t *testing.T) {
	first := AppendDeflate(nil, []byte("Hello"))
	if _, err := AppendInflate(nil, first, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := AppendInflate(nil, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, 100); !errors.Is(err, ErrBadDeflate) {
		t.Fatalf("a back-reference into the previous message: %v, want ErrBadDeflate", err)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
