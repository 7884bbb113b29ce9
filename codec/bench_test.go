package codec

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func BenchmarkParseRequest(b *testing.B) {
	for _, bc := range []struct{ name, in string }{{"upgrade", chromeUpgrade}, {"poll", pollGET}} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			r := Request{Headers: make([]Header, 0, 64)}
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := ParseRequest(in, &r, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseFrameHeader(b *testing.B) {
	in := []byte{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := ParseFrameHeader(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"125B", 125}, {"64KiB", 64 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			payload := make([]byte, bc.size)
			dst := make([]byte, 0, FrameSize(bc.size))
			b.ReportAllocs()
			b.SetBytes(int64(bc.size))
			for b.Loop() {
				dst = AppendFrame(dst[:0], ws.OpBinary, payload)
			}
		})
	}
}

func BenchmarkAppendUpgradeResponse(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendUpgradeResponse(dst[:0], key)
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	body := []byte(`{"messages":[{"id":1,"text":"hello"}]}`)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dst = AppendResponse(dst[:0], 200, "application/json", nil, body, true)
	}
}

// BenchmarkChunkedBody decodes a 4 KiB chunked body whole and one byte per
// read, the way a slow client sends it: linear either way.
func BenchmarkChunkedBody(b *testing.B) {
	var sb strings.Builder
	for range 64 {
		sb.WriteString("40\r\n" + strings.Repeat("x", 64) + "\r\n")
	}
	sb.WriteString("0\r\n\r\n")
	in := []byte(sb.String())
	dst := make([]byte, 0, 8192)
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var d ChunkedDecoder
			d.Reset(1 << 20)
			if _, _, done, err := d.Decode(dst[:0], in); !done || err != nil {
				b.Fatal(done, err)
			}
		}
	})
	b.Run("1B-reads", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var d ChunkedDecoder
			d.Reset(1 << 20)
			out := dst[:0]
			for k := range in {
				var done bool
				var err error
				if _, out, done, err = d.Decode(out, in[k:k+1]); err != nil {
					b.Fatal(err)
				} else if done {
					break
				}
			}
		}
	})
}
