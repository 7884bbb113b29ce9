package codec

// Byte classes shared by the HTTP parsers. Lookup tables keep the hot loops
// to one load and one branch per byte.

// tokenTable marks tchar (RFC 9110 §5.6.2):
//
//	token = 1*tchar
//	tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//	        "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// targetTable marks the bytes accepted in a request-target. RFC 3986 allows
// fewer (no '"', '<', '>', '\\', '^', '`', '{', '|', '}'), but real clients
// send some of them unescaped in queries, and none of them can end the
// request line, so accepting them is harmless. What is rejected matters for
// safety: SP would shift the version field, CTLs and DEL confuse
// downstream logs and proxies, '#' never belongs in a request (RFC 9112
// §3.2) and bytes >= 0x80 are always percent-encoded by browsers.
//
//	origin-form = absolute-path [ "?" query ]   (RFC 9112 §3.2.1)
var targetTable = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = true
	}
	t['#'] = false
	return t
}()

// valueTable marks the bytes accepted inside a field value (RFC 9110 §5.5).
// CR, LF and NUL are excluded on purpose: a recipient that let them through
// would open the door to header injection and request smuggling.
//
//	field-value = *field-content
//	field-vchar = VCHAR / obs-text
//	(plus SP and HTAB between field-vchars)
var valueTable = func() (t [256]bool) {
	t['\t'] = true
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = true
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] = true
	}
	return t
}()

// lower folds an ASCII upper-case letter to lower case.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold reports whether a equals b under ASCII case folding. HTTP
// field names and the tokens compared here are ASCII, so this is the right
// comparison and, unlike bytes.EqualFold, it needs no conversion of b.
func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// isOWS reports whether c is optional whitespace (RFC 9110 §5.6.3).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// hasToken reports whether the comma-separated list (RFC 9110 §5.6.1)
// contains token, compared case-insensitively. Empty list elements are
// allowed and ignored, as the RFC requires of recipients.
func hasToken(list []byte, token string) bool {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		if equalFold(trimOWS(list[:i]), token) {
			return true
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return false
}
