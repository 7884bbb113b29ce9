package codec

import (
	"strings"
	"testing"
)

// decidedAt returns the length of the shortest prefix of b on which
// ParseRequest returns anything but ErrNeedMore, or -1. Results are
// monotone in the prefix (a decided prefix decides every longer one), so
// a binary search finds it.
func decidedAt(b []byte, lim Limits) int {
	var r Request
	if _, err := ParseRequest(b, &r, lim); err == ErrNeedMore {
		return -1
	}
	lo, hi := 0, len(b) // ParseRequest(b[:hi]) is decided
	for lo < hi {
		mid := (lo + hi) / 2
		if _, err := ParseRequest(b[:mid], &r, lim); err == ErrNeedMore {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// scanInPieces feeds growing prefixes of b to a HeadScanner, size bytes
// more each time (cycled). It returns the prefix length at which the
// scanner first said decided (-1: never), and the length of the prefix
// before it.
func scanInPieces(b []byte, lim Limits, sizes []int) (at, before int) {
	var s HeadScanner
	for n, k := 0, 0; n < len(b); k++ {
		step := len(b) - n
		if len(sizes) > 0 {
			step = min(max(sizes[k%len(sizes)], 1), step)
		}
		before, n = n, n+step
		if s.Scan(b[:n], lim) {
			return n, before
		}
	}
	return -1, len(b)
}

// scanAgrees reports whether a scan that decided at at (after a prefix of
// before bytes) matches ParseRequest deciding at want: want falls in the
// last piece, or neither decides.
func scanAgrees(at, before, want int) bool {
	if want < 0 || at < 0 {
		return want == at
	}
	return before < want && want <= at
}

var headScanCases = []string{
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"\r\n\r\nGET /x?y=1 HTTP/1.1\r\nHost: h\r\nA:\r\nB: \t v \t\r\n\r\nbody",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET * HTTP/1.1\r\n",
	"OPTIONS *x HTTP/1.1\r\n",
	"G@T / HTTP/1.1\r\n",
	" GET / HTTP/1.1\r\n",
	"GET  / HTTP/1.1\r\n",
	"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"GET / HTTP/1.1\r\n:x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n\rX",
	"GET / HTTP/1.1\r\n\r\n",
	"GET /" + strings.Repeat("a", 300) + " HTTP/1.1\r\n",
	"GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 20) + "\r\n",
	"GET / HTTP/1.1\r\nX: " + strings.Repeat("p", 2000) + "\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n",
	"GET",
	"",
	chromeUpgrade, pollGET, postBody, sseGET,
}

// TestHeadScanner: in pieces of every size tried, the scanner decides at
// exactly the prefix where ParseRequest does, for the default limits and
// for small ones that make the size limits bite.
func TestHeadScanner(t *testing.T) {
	for _, lim := range []Limits{{}, fuzzLimits, {MaxHeaderBytes: 40, MaxHeaders: 2, MaxTargetBytes: 8}} {
		for _, in := range headScanCases {
			b := []byte(in)
			want := decidedAt(b, lim)
			for _, sizes := range [][]int{nil, {1}, {2}, {3, 1, 7}, {64}} {
				if at, before := scanInPieces(b, lim, sizes); !scanAgrees(at, before, want) {
					t.Errorf("limits %+v, %.40q in pieces %v: decided at %d (after %d), ParseRequest at %d", lim, in, sizes, at, before, want)
				}
			}
		}
	}
}

func TestHeadScannerReset(t *testing.T) {
	var s HeadScanner
	if !s.Scan([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), Limits{}) || !s.Scan(nil, Limits{}) {
		t.Fatal("not decided, or forgot it")
	}
	s.Reset()
	in := []byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n")
	if s.Scan(in, Limits{}) {
		t.Fatal("decided on an incomplete head after Reset")
	}
	// The Content-Length seen counts for the next field lines.
	if !s.Scan(append(in, "Content-Length: 1\r\n"...), Limits{}) {
		t.Fatal("a repeated Content-Length is not decided")
	}
}

// FuzzHeadScanner: for any bytes in any pieces, the scanner decides at the
// prefix where ParseRequest stops needing more.
func FuzzHeadScanner(f *testing.F) {
	for i, s := range headScanCases {
		f.Add([]byte(s), []byte{byte(i%5 + 1), 3})
	}
	f.Fuzz(func(t *testing.T, b, cuts []byte) {
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		want := decidedAt(b, fuzzLimits)
		if at, before := scanInPieces(b, fuzzLimits, sizes); !scanAgrees(at, before, want) {
			t.Fatalf("%q in pieces %v: decided at %d (after %d), ParseRequest at %d", b, sizes, at, before, want)
		}
	})
}

// BenchmarkParseHeadTrickle: a 7.6 KiB head one byte per read, parsed again
// on every read or scanned once.
func BenchmarkParseHeadTrickle(b *testing.B) {
	head := []byte("GET /hello HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 100)+"\r\n", 70) + "\r\n")
	r := Request{Headers: make([]Header, 0, 64)}
	lim := Limits{MaxHeaders: 100}
	b.Run("ParseRequest-per-read", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(head)))
		for b.Loop() {
			for k := 1; k <= len(head); k++ {
				if _, err := ParseRequest(head[:k], &r, lim); err != ErrNeedMore {
					break
				}
			}
		}
	})
	b.Run("HeadScanner", func(b *testing.B) {
		var s HeadScanner
		b.ReportAllocs()
		b.SetBytes(int64(len(head)))
		for b.Loop() {
			s.Reset()
			for k := 1; k <= len(head); k++ {
				if s.Scan(head[:k], lim) {
					break
				}
			}
			if _, err := ParseRequest(head, &r, lim); err != nil {
				b.Fatal(err)
			}
		}
	})
}
