package codec

import (
	"errors"
	"strings"
	"testing"
)

var chunkCases = []struct {
	name string
	in   string
	max  int
	want string
	n    int // -1: len(in)
	err  error
}{
	{"simple", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 100, "hello world", -1, nil},
	{"empty", "0\r\n\r\n", 100, "", -1, nil},
	{"many zeros", "000\r\n\r\n", 0, "", -1, nil},
	{"hex upper lower", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 100, "01234567890123456789", -1, nil},
	{"extensions", "5;name=value;x\r\nhello\r\n0;end\r\n\r\n", 100, "hello", -1, nil},
	{"BWS before ext", "5 ;a\r\nhello\r\n0\r\n\r\n", 100, "hello", -1, nil},
	{"trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", 100, "hello", -1, nil},
	{"pipelined rest", "1\r\na\r\n0\r\n\r\nGET /", 100, "a", 11, nil},
	{"exact max", "5\r\nhello\r\n0\r\n\r\n", 5, "hello", -1, nil},
	{"over max", "5\r\nhello\r\n0\r\n\r\n", 4, "", 0, ErrBodyTooLarge},
	{"over max before data", "ffffffff\r\n", 1 << 20, "", 0, ErrBodyTooLarge},
	{"16 hex digits", "ffffffffffffffff\r\n", 1 << 20, "", 0, ErrBodyTooLarge},
	{"17 hex digits", "00000000000000001\r\na\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"trailer over max", "1\r\na\r\n0\r\nX: " + strings.Repeat("y", 50) + "\r\n\r\n", 20, "", 0, ErrBodyTooLarge},
	{"no size", "\r\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"negative size", "-5\r\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"junk after size", "5x\r\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"bare LF size", "5\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"missing data CRLF", "5\r\nhelloX\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"data LF only", "5\r\nhello\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"bare LF end", "0\r\n\n", 100, "", 0, ErrBadRequest},
	{"trailer no colon", "0\r\nX\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"ctl in ext", "5;a\x00\r\nhello\r\n0\r\n\r\n", 100, "", 0, ErrBadRequest},
	{"long ext", "5;" + strings.Repeat("a", 5000) + "\r\nhello\r\n0\r\n\r\n", 1 << 20, "", 0, ErrBadRequest},
	{"ext counts to max", "5;abcdef\r\nhello\r\n0\r\n\r\n", 10, "", 0, ErrBodyTooLarge},
}

func TestParseChunkedBody(t *testing.T) {
	for _, tc := range chunkCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			// Every prefix gives ErrNeedMore or the final error.
			for i := 0; i <= len(in); i++ {
				n, body, err := ParseChunkedBody(in[:i], []byte("pre"), tc.max)
				if err == ErrNeedMore && i < len(in) {
					if n != 0 || string(body) != "pre" {
						t.Fatalf("prefix %d: n=%d body=%q on ErrNeedMore", i, n, body)
					}
					continue
				}
				if !errors.Is(err, tc.err) {
					t.Fatalf("prefix %d of %d: err=%v, want %v", i, len(in), err, tc.err)
				}
				if tc.err != nil {
					if n != 0 || string(body) != "pre" {
						t.Fatalf("n=%d body=%q on error", n, body)
					}
					return
				}
				wantN := tc.n
				if wantN < 0 {
					wantN = len(in)
				}
				if n != wantN || string(body) != "pre"+tc.want {
					t.Fatalf("prefix %d: n=%d body=%q, want n=%d body=%q", i, n, body, wantN, "pre"+tc.want)
				}
				return
			}
			t.Fatal("whole input gave ErrNeedMore")
		})
	}
}
