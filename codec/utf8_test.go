package codec

import (
	"testing"
	"unicode/utf8"
)

// utf8Seeds cover ASCII runs, every sequence length, and the classic
// invalid forms: overlongs, surrogates, above U+10FFFF, stray
// continuation bytes, truncated sequences.
var utf8Seeds = []string{
	"plain ascii longer than eight bytes",
	"κόσμε 世界 🌍",
	"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", // overlong '/'
	"\xed\xa0\x80", "\xed\xbf\xbf", // surrogates
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", // above U+10FFFF
	"\x80", "abc\xbf", "\xe2\x82", "\xf0\x9f\x8c", // stray or truncated
	"\xef\xbf\xbd", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", // valid edges
}

// validInPieces feeds s to a fresh validator in pieces of the given sizes
// (cycled) and reports Write's last result and Valid, checking that Write
// never turns true again after a false.
func validInPieces(t *testing.T, s []byte, sizes []int) (ok, valid bool) {
	var v UTF8Validator
	ok = true
	for i, k := 0, 0; i < len(s); k++ {
		sz := len(s) - i
		if len(sizes) > 0 {
			sz = min(max(sizes[k%len(sizes)], 1), sz)
		}
		w := v.Write(s[i : i+sz])
		if !ok && w {
			t.Fatalf("%q: Write turned valid again after a failure", s)
		}
		ok = w
		i += sz
	}
	return ok, v.Valid()
}

// TestUTF8ValidatorExhaustive compares with utf8.Valid on every sequence
// of one and two bytes and on every three-byte sequence that two bytes do
// not decide, whole and one byte at a time; plus the seeds' edges.
func TestUTF8ValidatorExhaustive(t *testing.T) {
	pieces := [][]int{nil, {1}}
	check := func(s []byte) {
		want, prefix := utf8.Valid(s), validPrefix(s)
		for _, sizes := range pieces {
			ok, valid := validInPieces(t, s, sizes)
			if valid != want {
				t.Fatalf("%q pieces %v: Valid() = %v, utf8.Valid = %v", s, sizes, valid, want)
			}
			// Write fails exactly when no continuation can make s valid:
			// not too early (a split code point), not too late.
			if ok != prefix {
				t.Fatalf("%q pieces %v: Write = %v, valid prefix = %v", s, sizes, ok, prefix)
			}
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			// A third byte matters only after a lead that wants one and a
			// continuation byte: anything else was decided by two bytes.
			if a >= 0xe0 && a <= 0xf4 && b >= 0x80 && b <= 0xbf {
				for c := range 256 {
					check([]byte{byte(a), byte(b), byte(c)})
				}
			}
		}
	}
	for _, s := range utf8Seeds {
		check([]byte(s))
	}
}

// validPrefix reports whether some continuation makes s valid UTF-8: s is
// valid, or valid up to one incomplete sequence, and one of these tails
// completes every incomplete sequence that can be completed (E0 needs
// A0..BF next, ED 80..9F, F0 90..BF, F4 80..8F).
func validPrefix(s []byte) bool {
	var buf [64]byte
	for _, tail := range [][]byte{nil, {0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}, {0x90, 0x80, 0x80}, {0xa0, 0x80}, {0x9f, 0xbf}, {0x8f, 0xbf, 0xbf}, {0xa0, 0x80, 0x80}} {
		if utf8.Valid(append(append(buf[:0], s...), tail...)) {
			return true
		}
	}
	return false
}

func TestUTF8ValidatorReset(t *testing.T) {
	var v UTF8Validator
	if v.Write([]byte("\xff")) || v.Write([]byte("a")) || v.Valid() {
		t.Fatal("invalid byte not sticky")
	}
	v.Reset()
	if !v.Write([]byte("\xe2\x82")) || v.Valid() || !v.Write([]byte("\xac")) || !v.Valid() {
		t.Fatal("euro sign split in two pieces")
	}
}

// FuzzUTF8Validator: in any pieces, Valid agrees with utf8.Valid, and
// Write fails exactly when the prefix fed can no longer become valid.
func FuzzUTF8Validator(f *testing.F) {
	for i, s := range utf8Seeds {
		f.Add([]byte(s), []byte{byte(i + 1), 2})
	}
	f.Fuzz(func(t *testing.T, s, cuts []byte) {
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		ok, valid := validInPieces(t, s, sizes)
		if valid != utf8.Valid(s) {
			t.Fatalf("%q: Valid() = %v", s, valid)
		}
		if ok != validPrefix(s) {
			t.Fatalf("%q pieces %v: Write = %v, valid prefix = %v", s, sizes, ok, !ok)
		}
	})
}

func BenchmarkUTF8Validator(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii", "The quick brown fox jumps over the lazy dog. 0123456789 "},
		{"mixed", "Zoë says κόσμε, 世界, and 🌍 — hello!"},
	} {
		in := []byte(bc.s)
		for len(in) < 4096 {
			in = append(in, bc.s...)
		}
		b.Run(bc.name+"/Validator", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var v UTF8Validator
				if !v.Write(in) || !v.Valid() {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(bc.name+"/utf8.Valid", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if !utf8.Valid(in) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
