package codec

import (
	"strings"
	"testing"
)

// benchPayloads: a chat message as the server sends it, a 4 KiB JSON
// history page, and a 64 KiB one.
func benchPayloads() []struct {
	name string
	p    []byte
} {
	chat := `{"op":"msg","ch":"room:42","seq":1017,"t":1700000000123,"from":"alice","data":{"text":"see you at 8, bring the slides"}}`
	page := strings.Repeat(chat[:len(chat)-1]+`,"n":12345},`, 64<<10/len(chat)+1)
	return []struct {
		name string
		p    []byte
	}{{"chat", []byte(chat)}, {"4KiB", []byte(page[:4<<10])}, {"64KiB", []byte(page[:64<<10])}}
}

// BenchmarkAppendDeflate reports the compressed size as a fraction of the
// payload (ratio) with the time.
func BenchmarkAppendDeflate(b *testing.B) {
	for _, bc := range benchPayloads() {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(bc.p)+64)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.p)))
			for b.Loop() {
				dst = AppendDeflate(dst[:0], bc.p)
			}
			b.ReportMetric(float64(len(dst))/float64(len(bc.p)), "ratio")
		})
	}
}

func BenchmarkAppendInflate(b *testing.B) {
	for _, bc := range benchPayloads() {
		b.Run(bc.name, func(b *testing.B) {
			c := AppendDeflate(nil, bc.p)
			dst := make([]byte, 0, len(bc.p))
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.p)))
			for b.Loop() {
				var err error
				if dst, err = AppendInflate(dst[:0], c, len(bc.p)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInflateZipBomb: 16 MiB of zeros stopped at a 64 KiB limit.
func BenchmarkInflateZipBomb(b *testing.B) {
	bomb := AppendDeflate(nil, make([]byte, 16<<20))
	dst := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendInflate(dst[:0], bomb, 64<<10); err != ErrInflateTooLarge {
			b.Fatal(err)
		}
	}
}

func BenchmarkNegotiateDeflate(b *testing.B) {
	var r Request
	head := "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	if _, err := ParseRequest([]byte(head), &r, Limits{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := NegotiateDeflate(&r); !ok {
			b.Fatal("declined")
		}
	}
}
