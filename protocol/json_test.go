package protocol

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

var compactCases = []struct {
	name  string
	in    string
	depth int
	want  string // compact output when err is nil
	err   error
}{
	{"object", `{"a":1}`, 0, `{"a":1}`, nil},
	{"white space everywhere", " {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } , \"c\":[ ] } \n", 0, `{"a":[1,2],"b":{},"c":[]}`, nil},
	{"white space kept in strings", `{"t":" a \t b "}`, 0, `{"t":" a \t b "}`, nil},
	{"scalar string", ` "x" `, 0, `"x"`, nil},
	{"scalar number", `-12.5e+3`, 0, `-12.5e+3`, nil},
	{"literals", `[true,false,null]`, 0, `[true,false,null]`, nil},
	{"escapes kept as written", `"\"\\\/\b\f\n\r\t\u00e9\u20AC"`, 0, `"\"\\\/\b\f\n\r\t\u00e9\u20AC"`, nil},
	{"lone surrogate escapes", `["\ud800","\udc00x","\ud83d\ude00"]`, 0, `["\ud800","\udc00x","\ud83d\ude00"]`, nil},
	{"raw UTF-8", `"κόσμε 世界 🌍"`, 0, `"κόσμε 世界 🌍"`, nil},
	{"raw U+FFFD is valid", "\"\xef\xbf\xbd\"", 0, "\"\xef\xbf\xbd\"", nil},
	{"duplicate keys kept", `{"a":1,"a":2}`, 0, `{"a":1,"a":2}`, nil},
	{"big integer", `12345678901234567890123`, 0, `12345678901234567890123`, nil},
	{"tiny number", `1e-400`, 0, `1e-400`, nil},
	{"zero with huge exponent", `0.000e99999999999999999999`, 0, `0.000e99999999999999999999`, nil},
	{"depth at the limit", `[[{"a":[]}]]`, 4, `[[{"a":[]}]]`, nil},
	{"depth over the limit", `[[{"a":[[]]}]]`, 4, "", ErrTooDeep},
	{"depth 1 allows one level", `[1,{}]`, 1, "", ErrTooDeep},
	{"default depth", strings.Repeat("[", 64) + strings.Repeat("]", 64), 0, strings.Repeat("[", 64) + strings.Repeat("]", 64), nil},
	{"default depth exceeded", strings.Repeat("[", 65) + strings.Repeat("]", 65), 0, "", ErrTooDeep},
	{"depth clamped to the limit", strings.Repeat("[", 1025) + strings.Repeat("]", 1025), 1 << 20, "", ErrTooDeep},
	{"deep but allowed", strings.Repeat(`{"a":`, 1024) + "1" + strings.Repeat("}", 1024), 5000, strings.Repeat(`{"a":`, 1024) + "1" + strings.Repeat("}", 1024), nil},

	{"empty", ``, 0, "", ErrInvalidJSON},
	{"only space", " \n ", 0, "", ErrInvalidJSON},
	{"two values", `1 2`, 0, "", ErrInvalidJSON},
	{"trailing garbage", `{}x`, 0, "", ErrInvalidJSON},
	{"trailing comma in object", `{"a":1,}`, 0, "", ErrInvalidJSON},
	{"trailing comma in array", `[1,]`, 0, "", ErrInvalidJSON},
	{"missing colon", `{"a" 1}`, 0, "", ErrInvalidJSON},
	{"non-string key", `{1:2}`, 0, "", ErrInvalidJSON},
	{"unclosed", `[1,{"a":2}`, 0, "", ErrInvalidJSON},
	{"mismatched", `[}`, 0, "", ErrInvalidJSON},
	{"single quotes", `'a'`, 0, "", ErrInvalidJSON},
	{"leading zero", `01`, 0, "", ErrInvalidJSON},
	{"plus sign", `+1`, 0, "", ErrInvalidJSON},
	{"bare dot", `1.`, 0, "", ErrInvalidJSON},
	{"leading dot", `.5`, 0, "", ErrInvalidJSON},
	{"empty exponent", `1e`, 0, "", ErrInvalidJSON},
	{"hex", `0x10`, 0, "", ErrInvalidJSON},
	{"NaN", `NaN`, 0, "", ErrInvalidJSON},
	{"Infinity", `-Infinity`, 0, "", ErrInvalidJSON},
	{"truncated literal", `tru`, 0, "", ErrInvalidJSON},
	{"literal with junk", `nulll`, 0, "", ErrInvalidJSON},
	{"raw newline in string", "\"a\nb\"", 0, "", ErrInvalidJSON},
	{"raw tab in string", "\"a\tb\"", 0, "", ErrInvalidJSON},
	{"NUL in string", "\"a\x00\"", 0, "", ErrInvalidJSON},
	{"bad escape", `"\x41"`, 0, "", ErrInvalidJSON},
	{"short unicode escape", `"\u12"`, 0, "", ErrInvalidJSON},
	{"non-hex unicode escape", `"\u12g4"`, 0, "", ErrInvalidJSON},
	{"unterminated string", `"abc`, 0, "", ErrInvalidJSON},
	{"comment", `[1 /* c */]`, 0, "", ErrInvalidJSON},
	{"byte order mark", "\xef\xbb\xbf{}", 0, "", ErrInvalidJSON},
	{"form feed as space", "\f1", 0, "", ErrInvalidJSON},
	{"vertical tab as space", "1\v", 0, "", ErrInvalidJSON},

	{"invalid UTF-8 in string", "\"a\xffb\"", 0, "", ErrInvalidUTF8},
	{"invalid UTF-8 in key", "{\"\xc3\x28\":1}", 0, "", ErrInvalidUTF8},
	{"surrogate as raw UTF-8", "\"\xed\xa0\x80\"", 0, "", ErrInvalidUTF8},
	{"overlong as raw UTF-8", "\"\xc0\xaf\"", 0, "", ErrInvalidUTF8},
	{"truncated UTF-8 at the quote", "\"\xe2\x82\"", 0, "", ErrInvalidUTF8},
	{"above U+10FFFF", "\"\xf4\x90\x80\x80\"", 0, "", ErrInvalidUTF8},

	{"float64 overflow", `1e400`, 0, "", ErrNumberRange},
	{"negative overflow", `[-1.8e308]`, 0, "", ErrNumberRange},
	{"overflow in a long integer", "1" + strings.Repeat("0", 309), 0, "", ErrNumberRange},
	{"just below the limit", `1.7976931348623158e308`, 0, `1.7976931348623158e308`, nil},
	{"max float64 digits", `179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368`, 0,
		`179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368`, nil},
	{"at the limit rounds to infinity", float64Limit, 0, "", ErrNumberRange},
	{"at the limit, scientific", "1." + float64Limit[1:] + "e308", 0, "", ErrNumberRange},
	{"overflow by exponent of a fraction", `0.0001e313`, 0, "", ErrNumberRange},
	{"no overflow by a fraction's exponent", `0.00017e312`, 0, `0.00017e312`, nil},
	{"overflow by a fraction just above", `0.00018e312`, 0, "", ErrNumberRange},
}

func TestAppendCompactJSON(t *testing.T) {
	for _, tc := range compactCases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("pre")
			out, err := AppendCompactJSON(dst, []byte(tc.in), tc.depth)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if string(out) != "pre" {
					t.Fatalf("dst changed on error: %q", out)
				}
				return
			}
			if string(out) != "pre"+tc.want {
				t.Fatalf("got %q, want %q", out, "pre"+tc.want)
			}
			// The oracle agrees wherever it applies.
			if depth(t, tc.in) <= clampDepth(tc.depth) {
				var buf bytes.Buffer
				if err := json.Compact(&buf, []byte(tc.in)); err != nil || buf.String() != tc.want {
					t.Fatalf("json.Compact: %q %v", buf.String(), err)
				}
			}
		})
	}
}

// depth returns the nesting of valid JSON s, by decoding it.
func depth(t testing.TB, s string) int {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	max, cur := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return max
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			cur++
			max = maxInt(max, cur)
		case json.Delim('}'), json.Delim(']'):
			cur--
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// TestFloat64Limit: the constant is 2^1024 - 2^970, and strconv agrees it
// is where float64 parsing starts to overflow.
func TestFloat64Limit(t *testing.T) {
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1024), new(big.Int).Lsh(big.NewInt(1), 970))
	if want.String() != float64Limit {
		t.Fatalf("float64Limit is not 2^1024 - 2^970")
	}
	below := new(big.Int).Sub(want, big.NewInt(1)).String()
	if _, err := strconv.ParseFloat(float64Limit, 64); err == nil {
		t.Fatal("strconv parses the limit")
	}
	if _, err := strconv.ParseFloat(below, 64); err != nil {
		t.Fatalf("strconv refuses the limit - 1: %v", err)
	}
}

// TestNumberRangeAgreesWithStrconv: around the limit, in many notations,
// the range check says what strconv.ParseFloat says.
func TestNumberRangeAgreesWithStrconv(t *testing.T) {
	limit, _ := new(big.Int).SetString(float64Limit, 10)
	var nums []string
	for _, delta := range []int64{-1e6, -1, 0, 1, 1e6} {
		v := new(big.Int).Add(limit, big.NewInt(delta)).String()
		nums = append(nums, v, "-"+v, v[:1]+"."+v[1:]+"e308", "0."+v+"e309", v+".000", v[:20]+"e289",
			"0.00"+v[:30]+"e311", v[:17]+"."+v[17:40]+"e292")
	}
	nums = append(nums, "1e308", "9.99e307", "1.8e308", "17976931348623157e292", "17976931348623159e292",
		"1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791999999e308")
	for _, n := range nums {
		_, perr := strconv.ParseFloat(n, 64)
		_, err := AppendCompactJSON(nil, []byte(n), 0)
		if (perr == nil) != (err == nil) || (err != nil && err != ErrNumberRange) {
			t.Errorf("%.40s...: strconv %v, ours %v", n, perr, err)
		}
	}
}

// TestCompactHasNoNewline: compact output never holds a raw CR or LF, so the
// line-oriented transports can carry it.
func TestCompactHasNoNewline(t *testing.T) {
	in := "{\r\n \"a\": \"line\\nbreak\",\n\t\"b\": [\n1,\r\n2]\n}\n"
	out, err := AppendCompactJSON(nil, []byte(in), 0)
	if err != nil || bytes.ContainsAny(out, "\r\n") {
		t.Fatalf("%q %v", out, err)
	}
}

func TestCompactJSON(t *testing.T) {
	out, err := CompactJSON([]byte(` [ 1 , "a" ] `))
	if err != nil || string(out) != `[1,"a"]` {
		t.Fatalf("%q %v", out, err)
	}
	if out, err := CompactJSON([]byte("\"\xff\"")); err != ErrInvalidUTF8 || out != nil {
		t.Fatalf("%q %v", out, err)
	}
}

// TestAppendCompactJSONAllocatesNothing: with room in dst, nothing but the
// output is written.
func TestAppendCompactJSONAllocatesNothing(t *testing.T) {
	in := []byte(benchDoc)
	dst := make([]byte, 0, len(in))
	if n := testing.AllocsPerRun(100, func() {
		if _, err := AppendCompactJSON(dst[:0], in, 0); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocs/op", n)
	}
}

// benchDoc is a chat-like payload with the white space a pretty printer
// leaves.
const benchDoc = `{"user": {"id": 12345, "name": "Zoë", "tags": ["a", "b", "c"]}, "text": "hello, world ` +
	`xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "n": [1.5, -2e10, 3, true, false, null]}`

func BenchmarkCompactJSON(b *testing.B) {
	big := []byte("[" + strings.Repeat(benchDoc+",\n  ", 30) + "0]")
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"small", []byte(benchDoc)}, {"4KiB", big}} {
		b.Run(bc.name+"/AppendCompactJSON", func(b *testing.B) {
			dst := make([]byte, 0, len(bc.in))
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				if _, err := AppendCompactJSON(dst[:0], bc.in, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/json.Compact", func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				buf.Reset()
				if err := json.Compact(&buf, bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
