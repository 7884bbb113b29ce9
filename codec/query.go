package codec

// Query helpers for application/x-www-form-urlencoded query strings, the
// form browsers and fetch() use (WHATWG URL §5.1): pairs split at '&', key
// and value at the first '=', '+' meaning SP and %HH escapes. Nothing here
// allocates when the destination slices have capacity.

// NextQueryPair returns the first non-empty pair of q and the rest of q
// after its '&'. key and value are still escaped; value is empty when the
// pair has no '='. Empty pairs ("&&") are skipped. When q holds no more
// pairs, key, value and rest are all nil; otherwise rest is non-nil (maybe
// empty), so a loop reads:
//
//	for k, v, rest := NextQueryPair(q); rest != nil; k, v, rest = NextQueryPair(rest) {
//		...
//	}
func NextQueryPair(q []byte) (key, value, rest []byte) {
	for len(q) > 0 && q[0] == '&' {
		q = q[1:]
	}
	if len(q) == 0 {
		return nil, nil, nil
	}
	pair := q
	rest = q[len(q):]
	for i, c := range q {
		if c == '&' {
			pair, rest = q[:i], q[i+1:]
			break
		}
	}
	key, value = pair, pair[len(pair):]
	for i, c := range pair {
		if c == '=' {
			key, value = pair[:i], pair[i+1:]
			break
		}
	}
	return key, value, rest
}

// AppendUnescape appends src to dst with %HH escapes decoded and '+'
// turned into SP. A '%' not followed by two hex digits is ErrBadRequest,
// with dst returned unchanged. The result may hold any byte, including NUL
// and invalid UTF-8: validating it is the caller's job.
func AppendUnescape(dst, src []byte) ([]byte, error) {
	n := len(dst)
	for i := 0; i < len(src); {
		c, used, err := unescapeByte(src, i)
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, c)
		i += used
	}
	return dst, nil
}

// unescapeByte decodes the byte at src[i] (URL query form: '+' is SP, %HH
// its hex value) and returns how many bytes of src it used.
func unescapeByte(src []byte, i int) (c byte, used int, err error) {
	switch c = src[i]; c {
	case '+':
		return ' ', 1, nil
	case '%':
		if i+2 >= len(src) {
			return 0, 0, ErrBadRequest
		}
		hi, ok1 := unhex(src[i+1])
		lo, ok2 := unhex(src[i+2])
		if !ok1 || !ok2 {
			return 0, 0, ErrBadRequest
		}
		return hi<<4 | lo, 3, nil
	}
	return c, 1, nil
}

// QueryValue finds the first pair of rawQuery whose unescaped key equals
// key and returns dst with that pair's unescaped value appended, and
// ok = true. When no key matches it returns dst unchanged and ok = false.
// err is ErrBadRequest when a key examined before the match, or the
// matched value, holds a bad escape. It allocates only when dst lacks
// capacity.
func QueryValue(dst, rawQuery []byte, key string) (value []byte, ok bool, err error) {
	for k, v, rest := NextQueryPair(rawQuery); rest != nil; k, v, rest = NextQueryPair(rest) {
		eq, err := unescapedEqual(k, key)
		if err != nil {
			return dst, false, err
		}
		if eq {
			value, err = AppendUnescape(dst, v)
			if err != nil {
				return dst, false, err
			}
			return value, true, nil
		}
	}
	return dst, false, nil
}

// unescapedEqual reports whether raw, once unescaped, equals want,
// decoding on the fly so no buffer is needed.
func unescapedEqual(raw []byte, want string) (bool, error) {
	j := 0
	eq := true
	for i := 0; i < len(raw); {
		c, used, err := unescapeByte(raw, i)
		if err != nil {
			return false, err
		}
		i += used
		// Keep scanning after a mismatch so that a bad escape is
		// reported the same way whatever key is asked for.
		if j >= len(want) || want[j] != c {
			eq = false
		}
		j++
	}
	return eq && j == len(want), nil
}

// unhex decodes one hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// QueryPair is one pair of a query string, key and value still escaped;
// both alias the request's input.
type QueryPair struct {
	Key, Value []byte
	// plainKey: Key holds no escape ('%' or '+'), so it compares as is.
	plainKey bool
}

// maxKeptQueryPairs bounds the pair table a reused Request keeps.
const maxKeptQueryPairs = 64

// Query returns r's query split into its non-empty pairs, in order: the
// query is scanned once per request however many parameters its handlers
// look up (a poll reads five or more). Like the other fields it is valid
// until the next ParseRequest into r.
func (r *Request) Query() []QueryPair {
	if !r.querySplit {
		r.querySplit = true
		for k, v, rest := NextQueryPair(r.RawQuery); rest != nil; k, v, rest = NextQueryPair(rest) {
			r.query = append(r.query, QueryPair{Key: k, Value: v, plainKey: !hasEscape(k)})
		}
	}
	return r.query
}

// QueryValue is the package's QueryValue on r's query, from its pairs.
func (r *Request) QueryValue(dst []byte, key string) (value []byte, ok bool, err error) {
	for _, p := range r.Query() {
		eq := p.plainKey && string(p.Key) == key
		if !p.plainKey {
			if eq, err = unescapedEqual(p.Key, key); err != nil {
				return dst, false, err
			}
		}
		if eq {
			if !hasEscape(p.Value) {
				return append(dst, p.Value...), true, nil
			}
			value, err = AppendUnescape(dst, p.Value)
			if err != nil {
				return dst, false, err
			}
			return value, true, nil
		}
	}
	return dst, false, nil
}

// hasEscape reports whether b holds a byte that unescapes to another.
func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '%' || c == '+' {
			return true
		}
	}
	return false
}
