package codec

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gobwas/ws"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed seed corpus under testdata/fuzz")

// fuzzLimits are small enough for the fuzzer to reach every limit.
var fuzzLimits = Limits{MaxHeaderBytes: 1024, MaxHeaders: 16, MaxTargetBytes: 256}

// requestSeeds are real-world heads: a browser upgrade, a long-poll GET,
// a POST with a body, an SSE GET, and a chunked POST.
var requestSeeds = []string{
	chromeUpgrade,
	pollGET,
	postBody,
	sseGET,
	"POST /pub HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
}

// frameSeeds cover each length class, masked and unmasked, plus the
// MSB-set 64-bit length.
var frameSeeds = [][]byte{
	{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
	{0x82, 0x05, 'h', 'e', 'l', 'l', 'o'},
	{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
	{0x02, 0x7e, 0xff, 0xff},
	{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
	{0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0},
	{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
	{0x88, 0x82, 1, 2, 3, 4, 0x02, 0xea},
}

var chunkSeeds = []string{
	"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	"5;ext=1\r\nhello\r\n0\r\nX-Trailer: v\r\n\r\n",
	"ffffffffffffffff\r\n",
	"0\r\n\r\n",
}

// reqSummary renders everything ParseRequest reports, for comparison.
func reqSummary(r *Request, n int, err error) string {
	if err != nil {
		return fmt.Sprintf("n=%d err=%v", n, err)
	}
	return fmt.Sprintf("n=%d %q %q %q %q q=%v %d %q cl=%d %v %v %v", n, r.Method, r.Target, r.Path, r.RawQuery,
		r.RawQuery != nil, r.Minor, r.Headers, r.ContentLength, r.Chunked, r.KeepAlive, r.Upgrade)
}

func FuzzParseRequest(f *testing.F) {
	for i, s := range requestSeeds {
		f.Add([]byte(s), uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		var r Request
		n, err := ParseRequest(b, &r, fuzzLimits)
		if n < 0 || n > len(b) || (err != nil && n != 0) {
			t.Fatalf("n=%d err=%v len=%d", n, err, len(b))
		}
		whole := reqSummary(&r, n, err)
		if err == nil {
			if !bytes.HasSuffix(b[:n], []byte("\r\n\r\n")) {
				t.Fatalf("head does not end in CRLF CRLF: %q", b[:n])
			}
			for _, h := range r.Headers {
				if len(h.Name) == 0 || bytes.ContainsAny(h.Name, " \t:\r\n") || bytes.ContainsAny(h.Value, "\r\n\x00") {
					t.Fatalf("bad header accepted: %q: %q", h.Name, h.Value)
				}
			}
		}
		// Two pieces: the prefix must be "need more" or the same result.
		k := int(split) % (len(b) + 1)
		var r2 Request
		n2, err2 := ParseRequest(b[:k], &r2, fuzzLimits)
		if err2 != ErrNeedMore {
			if got := reqSummary(&r2, n2, err2); got != whole {
				t.Fatalf("prefix %d: %s\nwhole: %s", k, got, whole)
			}
		} else if n2 != 0 {
			t.Fatalf("ErrNeedMore with n=%d", n2)
		}
		n2, err2 = ParseRequest(b, &r2, fuzzLimits)
		if got := reqSummary(&r2, n2, err2); got != whole {
			t.Fatalf("reparse with a reused Request: %s\nfirst: %s", got, whole)
		}
	})
}

func FuzzParseFrameHeader(f *testing.F) {
	for i, s := range frameSeeds {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		h, n, err := ParseFrameHeader(b)
		if n < 0 || n > len(b) || (err != nil && n != 0) || (err == nil && (n < 2 || n > ws.MaxHeaderSize)) {
			t.Fatalf("n=%d err=%v len=%d", n, err, len(b))
		}
		k := int(split) % (len(b) + 1)
		h2, n2, err2 := ParseFrameHeader(b[:k])
		if err2 != ErrNeedMore && (h2 != h || n2 != n || err2 != err) {
			t.Fatalf("prefix %d: %+v %d %v, whole %+v %d %v", k, h2, n2, err2, h, n, err)
		}
		oh, on, oerr := wsOracle(b)
		switch err {
		case nil:
			if oerr != nil || oh != h || on != n {
				t.Fatalf("oracle %+v %d %v, ours %+v %d", oh, on, oerr, h, n)
			}
			// Re-encoding gives a header that parses back identically.
			enc := AppendFrameHeader(nil, h)
			if h3, n3, err3 := ParseFrameHeader(enc); err3 != nil || h3 != h || n3 != len(enc) || n3 != ws.HeaderSize(h) {
				t.Fatalf("re-encode %+v: %+v %d %v", h, h3, n3, err3)
			}
		case ErrBadFrame:
			if oerr != ws.ErrHeaderLengthMSB {
				t.Fatalf("ours ErrBadFrame, oracle %v", oerr)
			}
		case ErrNeedMore:
			if oerr == nil {
				t.Fatalf("ours ErrNeedMore, oracle accepted %+v", oh)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzChunkedDecoder: decoding in fuzzer-chosen pieces equals decoding
// whole, and both equal the whole-body parser's verdict (the oracle):
// same error, and on success the same data and length.
func FuzzChunkedDecoder(f *testing.F) {
	for i, s := range chunkSeeds {
		f.Add([]byte(s), uint16(64), []byte{byte(i + 1), 3})
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint16, cuts []byte) {
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		dst := []byte("pre")
		dst = dst[:3:3] // every append copies, so results never share memory
		n, body, done, err := decodeInPieces(b, dst, int(max), nil)
		n2, body2, done2, err2 := decodeInPieces(b, dst, int(max), sizes)
		if n != n2 || !bytes.Equal(body, body2) || done != done2 || err != err2 {
			t.Fatalf("whole: n=%d done=%v err=%v %q\npieces %v: n=%d done=%v err=%v %q", n, done, err, body, sizes, n2, done2, err2, body2)
		}
		if n < 0 || n > len(b) || len(body)-len(dst) > int(max) || !bytes.HasPrefix(body, dst) {
			t.Fatalf("n=%d of %d, body %d bytes over max %d or lost its prefix", n, len(b), len(body)-len(dst), max)
		}
		on, obody, oerr := parseChunkedWhole(b, dst, int(max))
		switch {
		case oerr == ErrNeedMore:
			if err != nil || done || n != len(b) {
				t.Fatalf("oracle needs more; decoder n=%d done=%v err=%v", n, done, err)
			}
		case oerr != nil:
			if err != oerr {
				t.Fatalf("oracle %v, decoder n=%d done=%v err=%v", oerr, n, done, err)
			}
		default:
			if err != nil || !done || n != on || !bytes.Equal(body, obody) {
				t.Fatalf("oracle n=%d %q, decoder n=%d done=%v err=%v %q", on, obody, n, done, err, body)
			}
		}
	})
}

// TestWriteSeedCorpus rewrites testdata/fuzz/<Target>/seed-* from the
// seed tables above when run with -update-seeds.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seed corpus")
	}
	write := func(target string, i int, args ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, a := range args {
			buf.WriteString(a + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range requestSeeds {
		write("FuzzParseRequest", i, fmt.Sprintf("[]byte(%q)", s), fmt.Sprintf("uint16(%d)", len(s)/2))
	}
	for i, s := range frameSeeds {
		write("FuzzParseFrameHeader", i, fmt.Sprintf("[]byte(%q)", s), fmt.Sprintf("uint8(%d)", len(s)/2))
	}
	for i, s := range chunkSeeds {
		write("FuzzChunkedDecoder", i, fmt.Sprintf("[]byte(%q)", s), "uint16(64)", fmt.Sprintf("[]byte(%q)", []byte{byte(i + 1), 3}))
	}
	for i, s := range utf8Seeds {
		write("FuzzUTF8Validator", i, fmt.Sprintf("[]byte(%q)", s), fmt.Sprintf("[]byte(%q)", []byte{byte(i + 1), 2}))
	}
}
