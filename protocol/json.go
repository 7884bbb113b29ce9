package protocol

import "unicode/utf8"

// Strict JSON for publish data. Every byte a channel delivers entered it as
// the data of a client pub or of a backend publish, and is then written
// verbatim into WebSocket text frames, SSE events, chunked lines and script
// elements. So data is checked once, on the way in, against what every
// consumer can take: exactly one RFC 8259 JSON text, valid UTF-8 (a browser
// or node ws client fails the whole connection with 1006 on a text frame
// that is not), nesting within a bound, numbers a float64 can hold, and no
// white space between tokens (so no raw newline for the line-oriented
// transports).

// Nesting bounds for AppendCompactJSON and DecodeClientMessage.
const (
	// DefaultMaxDepth is the nesting of arrays and objects allowed when a
	// caller passes 0.
	DefaultMaxDepth = 64
	// MaxDepthLimit is the deepest nesting a caller may allow; larger
	// values are treated as this one.
	MaxDepthLimit = 1024
)

// Data errors. Each is an *Error with code 400, which the server answers
// as it answers any *Error: an "err" reply on the WebSocket and POST
// /send, HTTP 400 on the backend API.
var (
	// ErrInvalidJSON reports data that is not exactly one JSON text
	// (RFC 8259): a syntax error, bytes after the value, or no value.
	ErrInvalidJSON = &Error{400, "data is not valid json"}
	// ErrInvalidUTF8 reports a byte sequence inside a string that is not
	// UTF-8 (RFC 8259 §8.1). Escapes are not affected: "\ud800" is valid
	// JSON and accepted, as JavaScript's JSON.stringify produces it.
	ErrInvalidUTF8 = &Error{400, "data is not valid utf-8"}
	// ErrTooDeep reports arrays and objects nested deeper than allowed.
	ErrTooDeep = &Error{400, "data nested too deep"}
	// ErrNumberRange reports a number too large for a float64 (above
	// about 1.8e308), which a strict decoder cannot hold: JavaScript's
	// JSON.parse would silently make it Infinity. Tiny numbers (1e-400)
	// are accepted; they become 0 or a subnormal, as in JavaScript.
	ErrNumberRange = &Error{400, "number out of range"}
)

// AppendCompactJSON appends src to dst without insignificant white space,
// after checking that src is exactly one JSON text (RFC 8259) with valid
// UTF-8 in its strings, arrays and objects nested at most maxDepth deep
// (0 or less: DefaultMaxDepth; at most MaxDepthLimit) and every number
// within float64 range. It makes one pass over src and allocates nothing
// but dst's growth. On error it returns dst unchanged and one of
// ErrInvalidJSON, ErrInvalidUTF8, ErrTooDeep or ErrNumberRange.
//
// Everything else is kept as written: string escapes are not decoded nor
// re-encoded, numbers keep their digits, duplicate object keys are kept
// (RFC 8259 §4 leaves their meaning to the receiver; browsers keep the
// last). Integers beyond 2^53 are accepted, but JavaScript reads them
// with lost precision: send large ids as strings.
func AppendCompactJSON(dst, src []byte, maxDepth int) ([]byte, error) {
	n0 := len(dst)
	s := jsonScanner{src: src, dst: dst, emit: true}
	i, err := s.value(0, clampDepth(maxDepth))
	if err == nil {
		if i = s.space(i); i != len(src) {
			err = ErrInvalidJSON
		}
	}
	if err != nil {
		return s.dst[:n0], err
	}
	return append(s.dst, src[s.mark:i]...), nil
}

// CompactJSON returns a compact copy of src, or an error if src is not
// valid data: AppendCompactJSON into a new slice, with DefaultMaxDepth.
func CompactJSON(src []byte) ([]byte, error) {
	out, err := AppendCompactJSON(make([]byte, 0, len(src)), src, 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func clampDepth(d int) int {
	switch {
	case d <= 0:
		return DefaultMaxDepth
	case d > MaxDepthLimit:
		return MaxDepthLimit
	}
	return d
}

// jsonScanner checks one JSON value in a single left-to-right pass over
// src with an explicit stack, so hostile nesting costs a bit per level, not
// a call frame. In emit mode it copies src to dst in runs, cutting out
// the white space between tokens; otherwise it only counts that white
// space.
type jsonScanner struct {
	src  []byte
	dst  []byte
	mark int  // emit: src[mark:] is not yet copied to dst
	emit bool // copy to dst
	ws   int  // insignificant white space bytes skipped
	// objects has bit d set when the container at depth d is an object.
	objects [MaxDepthLimit / 64]uint64
}

// space skips white space (RFC 8259 §2: SP, HTAB, LF, CR) at i.
func (s *jsonScanner) space(i int) int {
	src := s.src
	if i >= len(src) || !isJSONSpace(src[i]) {
		return i
	}
	j := i + 1
	for j < len(src) && isJSONSpace(src[j]) {
		j++
	}
	if s.emit {
		s.dst = append(s.dst, src[s.mark:i]...)
		s.mark = j
	}
	s.ws += j - i
	return j
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// value checks the value starting at i (after optional white space) and
// returns the index after it.
//
//	value  = false / null / true / object / array / number / string
//	object = "{" [ member *( "," member ) ] "}"
//	member = string ":" value
//	array  = "[" [ value *( "," value ) ] "]"
func (s *jsonScanner) value(i, maxDepth int) (int, error) {
	src := s.src
	depth := 0
	var err error
	for {
		i = s.space(i)
		if i >= len(src) {
			return i, ErrInvalidJSON
		}
		switch c := src[i]; c {
		case '{', '[':
			if depth >= maxDepth {
				return i, ErrTooDeep
			}
			bit := uint64(1) << (depth % 64)
			if c == '{' {
				s.objects[depth/64] |= bit
			} else {
				s.objects[depth/64] &^= bit
			}
			depth++
			if i = s.space(i + 1); i < len(src) && src[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				depth--
				break // an empty container is a whole value
			}
			if c == '{' {
				if i, err = s.member(i); err != nil {
					return i, err
				}
			}
			continue
		case '"':
			i, err = s.str(i)
		case 't':
			i, err = literal(src, i, "true")
		case 'f':
			i, err = literal(src, i, "false")
		case 'n':
			i, err = literal(src, i, "null")
		default:
			if c != '-' && (c < '0' || c > '9') {
				return i, ErrInvalidJSON
			}
			i, err = s.number(i)
		}
		if err != nil {
			return i, err
		}
		// A value ended: close the containers it ends, or go on to the
		// next element of the innermost one.
		for {
			if depth == 0 {
				return i, nil
			}
			if i = s.space(i); i >= len(src) {
				return i, ErrInvalidJSON
			}
			object := s.objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			c := src[i]
			if c == ',' {
				i++
				if object {
					if i, err = s.member(i); err != nil {
						return i, err
					}
				}
				break
			}
			if (object && c == '}') || (!object && c == ']') {
				i++
				depth--
				continue
			}
			return i, ErrInvalidJSON
		}
	}
}

// member checks `string ":"` at i (after optional white space) and returns
// the index after the colon.
func (s *jsonScanner) member(i int) (int, error) {
	src := s.src
	if i = s.space(i); i >= len(src) || src[i] != '"' {
		return i, ErrInvalidJSON
	}
	i, err := s.str(i)
	if err != nil {
		return i, err
	}
	if i = s.space(i); i >= len(src) || src[i] != ':' {
		return i, ErrInvalidJSON
	}
	return i + 1, nil
}

// plainStringByte marks the ASCII bytes that stand for themselves inside a
// string: everything from SP up but '"' and '\'. Control characters must be
// escaped (RFC 8259 §7).
var plainStringByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str checks the string whose opening quote is at i and returns the index
// after its closing quote.
//
//	string = quotation-mark *char quotation-mark
//	char   = unescaped / escape ( %x22 / %x5C / %x2F / %x62 / %x66 /
//	         %x6E / %x72 / %x74 / %x75 4HEXDIG )
func (s *jsonScanner) str(i int) (int, error) {
	src := s.src
	for i++; i < len(src); {
		c := src[i]
		if c >= utf8.RuneSelf {
			// Raw non-ASCII must be UTF-8; a valid U+FFFD is three bytes,
			// so size 1 with RuneError is exactly an invalid sequence.
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				return i, ErrInvalidUTF8
			}
			i += size
			continue
		}
		if plainStringByte[c] {
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(src) {
				return i, ErrInvalidJSON
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) || !isHex4(src[i+2:i+6]) {
					return i, ErrInvalidJSON
				}
				i += 6
			default:
				return i, ErrInvalidJSON
			}
		default: // an unescaped control character
			return i, ErrInvalidJSON
		}
	}
	return i, ErrInvalidJSON
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if _, ok := hexValue(c); !ok {
			return false
		}
	}
	return true
}

func hexValue(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// literal checks the literal word at i.
func literal(src []byte, i int, word string) (int, error) {
	if len(src)-i < len(word) || string(src[i:i+len(word)]) != word {
		return i, ErrInvalidJSON
	}
	return i + len(word), nil
}

// number checks the number at i, and that a float64 can hold it.
//
//	number = [ "-" ] int [ frac ] [ exp ]
//	int    = "0" / ( %x31-39 *DIGIT )
//	frac   = "." 1*DIGIT
//	exp    = ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT
func (s *jsonScanner) number(i int) (int, error) {
	src := s.src
	if src[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && '1' <= src[i] && src[i] <= '9':
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	default:
		return i, ErrInvalidJSON
	}
	intPart := src[intStart:i]
	var frac []byte
	if i < len(src) && src[i] == '.' {
		i++
		start := i
		for i < len(src) && isDigit(src[i]) {
			i++
		}
		if i == start {
			return i, ErrInvalidJSON
		}
		frac = src[start:i]
	}
	exp, hasExp := 0, false
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		negative := false
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			negative = src[i] == '-'
			i++
		}
		start := i
		for ; i < len(src) && isDigit(src[i]); i++ {
			if exp < 1<<24 { // far beyond any float64; saturate
				exp = exp*10 + int(src[i]-'0')
			}
		}
		if i == start {
			return i, ErrInvalidJSON
		}
		if negative {
			exp = -exp
		}
		hasExp = true
	}
	// Nearly every number has no exponent and fewer than 309 integer
	// digits, so it is below 1e308 and needs no closer look.
	if (hasExp || len(intPart) > 308) && !fitsFloat64(intPart, frac, exp) {
		return i, ErrNumberRange
	}
	return i, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// float64Limit is the decimal expansion of 2^1024 - 2^970, the midpoint
// between math.MaxFloat64 and 2^1024: a decimal at or above it rounds to
// infinity (at exactly it, to even, which is up), one below it to a finite
// float64. Its leading digit is worth 10^308.
const float64Limit = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"

// fitsFloat64 reports whether the number intPart.frac × 10^exp (digits
// only, as number checked them) is below float64Limit in magnitude, by
// exact decimal comparison: no float arithmetic, no allocation.
func fitsFloat64(intPart, frac []byte, exp int) bool {
	// digits are the significant digits: intPart then frac, leading zeros
	// skipped; lead is the power of ten of the first one.
	digits := [2][]byte{intPart, frac}
	var lead int
	if len(intPart) > 1 || intPart[0] != '0' {
		lead = len(intPart) - 1 + exp
	} else {
		z := 0
		for z < len(frac) && frac[z] == '0' {
			z++
		}
		if z == len(frac) {
			return true // zero, whatever its exponent
		}
		digits = [2][]byte{frac[z:], nil}
		lead = -z - 1 + exp
	}
	switch {
	case lead < 308:
		return true
	case lead > 308:
		return false
	}
	k := 0
	for _, part := range digits {
		for _, d := range part {
			if k == len(float64Limit) {
				return false // equal so far, and more digits: above it
			}
			if d != float64Limit[k] {
				return d < float64Limit[k]
			}
			k++
		}
	}
	// The digits ran out: below the limit unless its remaining digits are
	// all zero (then equal, which rounds up).
	for ; k < len(float64Limit); k++ {
		if float64Limit[k] != '0' {
			return true
		}
	}
	return false
}
