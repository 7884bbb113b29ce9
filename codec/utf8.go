package codec

import "unicode/utf8"

// UTF8Validator checks a byte stream for UTF-8 validity as it arrives, in
// pieces of any size: a code point split across pieces is accepted, and the
// first byte that cannot continue valid UTF-8 is reported at once rather than
// when the stream ends. WebSocket text messages need exactly this (RFC 6455
// §8.1: fail the connection on invalid UTF-8 "as soon as" it is seen, even
// in a fragment). The zero value is ready and is one byte, so a connection
// can hold it without cost.
//
// Validity is the standard library's (utf8.Valid): shortest form only, no
// surrogates (U+D800-U+DFFF), nothing above U+10FFFF.
type UTF8Validator struct {
	state uint8
}

// UTF8 DFA states, after Bjoern Hoehrmann's decoder
// (http://bjoern.hoehrmann.de/utf-8/decoder/dfa/, MIT licence): states are
// multiples of 12 so that state+class indexes utf8Transitions directly.
const (
	utf8Accept = 0
	utf8Reject = 12
)

// utf8Classes maps a byte to its class:
//
//	0  00..7F          1  80..8F          2  C2..DF        3  E1..EC, EE..EF
//	4  ED              5  F4              6  F1..F3        7  A0..BF
//	8  C0..C1, F5..FF  9  90..9F         10  E0           11  F0
var utf8Classes = [256]uint8{
	0x80: 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3,
	11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
}

// utf8Transitions maps state+class to the next state. State 0 accepts, 12
// rejects (and stays rejected), the others wait for continuation bytes
// with the range the lead byte allows (E0 needs A0..BF, ED 80..9F, F0
// 90..BF, F4 80..8F).
var utf8Transitions = [108]uint8{
	0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 0, 12, 12, 12, 12, 12, 0, 12, 0, 12, 12,
	12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,
	12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,
	12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,
	12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
}

// Write feeds p and reports whether everything fed so far can still be,
// or already is, valid UTF-8. Once it returns false it keeps returning
// false until Reset.
func (v *UTF8Validator) Write(p []byte) bool {
	s := v.state
	// Finish a code point left open by the previous piece.
	i := 0
	for ; i < len(p) && s != utf8Accept && s != utf8Reject; i++ {
		s = utf8Transitions[s+utf8Classes[p[i]]]
	}
	if s != utf8Accept {
		v.state = s
		return s != utf8Reject
	}
	// The bulk goes to the standard library's validator, which is several
	// times faster than a byte-at-a-time automaton; only a code point that
	// the end of p cuts off is left to the automaton, to be finished by
	// the next piece.
	rest := p[i:]
	cut := len(rest) - openTail(rest)
	if !utf8.Valid(rest[:cut]) {
		v.state = utf8Reject
		return false
	}
	for _, c := range rest[cut:] {
		s = utf8Transitions[s+utf8Classes[c]]
	}
	v.state = s
	return s != utf8Reject
}

// openTail returns the length of the code point that b ends inside of: 1
// to 3 bytes from a lead byte that announces more than b holds, or 0.
// Whether those bytes can be valid is the automaton's to say.
func openTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		switch {
		case c < 0x80:
			return 0
		case c < 0xc0:
			continue // a continuation byte: look for its lead
		case c < 0xe0:
			return tailIf(k < 2, k)
		case c < 0xf0:
			return tailIf(k < 3, k)
		default:
			return tailIf(k < 4, k)
		}
	}
	return 0
}

func tailIf(open bool, k int) int {
	if open {
		return k
	}
	return 0
}

// Valid reports whether everything fed is valid UTF-8 and ends on a code
// point boundary: the check to make when the stream (a message) ends.
func (v *UTF8Validator) Valid() bool { return v.state == utf8Accept }

// Reset forgets what was fed, for the next stream.
func (v *UTF8Validator) Reset() { v.state = utf8Accept }
