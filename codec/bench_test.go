package codec

import (
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
