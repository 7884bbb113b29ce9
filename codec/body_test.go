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

// decodeInPieces feeds in to a fresh decoder in pieces of the given sizes
// (cycled; 0 means the rest), appending to dst, and returns the total
// consumed, the data, done and the error, stopping at done or an error.
func decodeInPieces(in, dst []byte, max int, sizes []int) (int, []byte, bool, error) {
	var d ChunkedDecoder
	d.Reset(max)
	total := 0
	for k := 0; ; k++ {
		piece := in[total:]
		if len(sizes) > 0 {
			if sz := sizes[k%len(sizes)]; sz > 0 && sz < len(piece) {
				piece = piece[:sz]
			}
		}
		n, out, done, err := d.Decode(dst, piece)
		dst = out
		if n < 0 || n > len(piece) {
			panic("Decode consumed out of bounds")
		}
		total += n
		if done || err != nil || total == len(in) {
			return total, dst, done, err
		}
		if n != len(piece) {
			panic("Decode stopped early without done or an error")
		}
	}
}

func TestChunkedDecoder(t *testing.T) {
	for _, tc := range chunkCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			wantN := tc.n
			if wantN < 0 {
				wantN = len(in)
			}
			for _, sizes := range [][]int{nil, {1}, {2}, {3, 1}, {7}} {
				n, body, done, err := decodeInPieces(in, []byte("pre"), tc.max, sizes)
				if !errors.Is(err, tc.err) {
					t.Fatalf("pieces %v: err=%v, want %v", sizes, err, tc.err)
				}
				if tc.err != nil {
					if done {
						t.Fatalf("pieces %v: done with an error", sizes)
					}
					continue
				}
				if !done || n != wantN || string(body) != "pre"+tc.want {
					t.Fatalf("pieces %v: n=%d done=%v body=%q, want n=%d body=%q", sizes, n, done, body, wantN, "pre"+tc.want)
				}
			}
			// Every proper prefix of a valid body is absorbed whole and not
			// done; of an invalid one, it is that or the final error.
			for i := range len(in) {
				var d ChunkedDecoder
				d.Reset(tc.max)
				n, _, done, err := d.Decode(nil, in[:i])
				if tc.err == nil && (err != nil || (done && n != wantN)) {
					t.Fatalf("prefix %d: n=%d done=%v err=%v", i, n, done, err)
				}
				if err == nil && !done && n != i {
					t.Fatalf("prefix %d: consumed %d without done or an error", i, n)
				}
				if err != nil && !errors.Is(err, tc.err) {
					t.Fatalf("prefix %d: err=%v, want %v", i, err, tc.err)
				}
			}
		})
	}
}

// TestChunkedDecoderOracle: the table agrees with the whole-body parser,
// which is the oracle FuzzChunkedDecoder uses.
func TestChunkedDecoderOracle(t *testing.T) {
	for _, tc := range chunkCases {
		n, body, err := parseChunkedWhole([]byte(tc.in), nil, tc.max)
		n2, body2, _, err2 := decodeInPieces([]byte(tc.in), nil, tc.max, []int{1})
		if err != err2 || (err == nil && (n != n2 || string(body) != string(body2))) {
			t.Errorf("%s: oracle n=%d %q %v, decoder n=%d %q %v", tc.name, n, body, err, n2, body2, err2)
		}
	}
}

// TestChunkedDecoderAfterEnd: a finished decoder consumes nothing more, a
// failed one keeps failing.
func TestChunkedDecoderAfterEnd(t *testing.T) {
	var d ChunkedDecoder
	d.Reset(100)
	n, body, done, err := d.Decode(nil, []byte("1\r\na\r\n0\r\n\r\nGET"))
	if n != 11 || string(body) != "a" || !done || err != nil || !d.Done() {
		t.Fatalf("n=%d body=%q done=%v err=%v", n, body, done, err)
	}
	if n, _, done, err := d.Decode(nil, []byte("GET")); n != 0 || !done || err != nil {
		t.Fatalf("after done: n=%d done=%v err=%v", n, done, err)
	}
	d.Reset(100)
	if _, _, _, err := d.Decode(nil, []byte("x")); err != ErrBadRequest {
		t.Fatalf("err=%v", err)
	}
	for _, in := range []string{"", "0\r\n\r\n"} {
		if n, _, done, err := d.Decode(nil, []byte(in)); n != 0 || done || err != ErrBadRequest {
			t.Fatalf("after failure, %q: n=%d done=%v err=%v", in, n, done, err)
		}
	}
	d.Reset(-5)
	if _, _, _, err := d.Decode(nil, []byte("1\r\n")); err != ErrBodyTooLarge {
		t.Fatalf("negative max: err=%v", err)
	}
}
