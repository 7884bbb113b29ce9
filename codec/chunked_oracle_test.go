package codec

// parseChunkedWhole is the chunked-body parser Comet used before
// ChunkedDecoder: it decodes a complete body from b[0] on every call and
// returns ErrNeedMore until the body is whole. It is kept, unexported and in
// a test file, as the oracle ChunkedDecoder must agree with: same data, same
// length, same error, on every input.
func parseChunkedWhole(b, dst []byte, max int) (n int, body []byte, err error) {
	if max < 0 {
		max = 0
	}
	n0 := len(dst)
	used := 0 // decoded bytes plus extension and trailer bytes
	i := 0
	for {
		lineStart := i
		var size uint64
		digits := 0
		for ; i < len(b); i++ {
			v, ok := unhex(b[i])
			if !ok {
				break
			}
			// 16 hex digits fill a uint64; more could only be an
			// overflow attempt or padding no real client sends.
			if digits++; digits > 16 {
				return 0, dst[:n0], ErrBadRequest
			}
			size = size<<4 | uint64(v)
		}
		if i >= len(b) {
			return 0, dst[:n0], ErrNeedMore
		}
		if digits == 0 {
			return 0, dst[:n0], ErrBadRequest
		}
		// The size must be followed by an extension (after optional BWS)
		// or the line end; "5x" or "5 5" are not sizes.
		if c := b[i]; c != '\r' && c != ';' && !isOWS(c) {
			return 0, dst[:n0], ErrBadRequest
		}
		extStart := i
		for ; i < len(b) && b[i] != '\r'; i++ {
			// CTLs other than HTAB, including a bare LF, are syntax
			// errors; extension content is otherwise skipped unparsed.
			if !valueTable[b[i]] || i-lineStart >= maxChunkLine {
				return 0, dst[:n0], ErrBadRequest
			}
		}
		if i+1 >= len(b) {
			return 0, dst[:n0], ErrNeedMore
		}
		if b[i+1] != '\n' {
			return 0, dst[:n0], ErrBadRequest
		}
		used += i - extStart
		if used > max {
			return 0, dst[:n0], ErrBodyTooLarge
		}
		i += 2
		if size == 0 {
			break
		}
		// Refuse on the declared size, before the data arrives, so the
		// caller can answer 413 without buffering it.
		if size > uint64(max-used) {
			return 0, dst[:n0], ErrBodyTooLarge
		}
		used += int(size)
		if uint64(len(b)-i) < size+2 {
			// Data and its CRLF are incomplete; still reject a wrong
			// byte where the CRLF should be as soon as it is visible.
			if end := i + int(size); end < len(b) && b[end] != '\r' {
				return 0, dst[:n0], ErrBadRequest
			}
			return 0, dst[:n0], ErrNeedMore
		}
		end := i + int(size)
		if b[end] != '\r' || b[end+1] != '\n' {
			return 0, dst[:n0], ErrBadRequest
		}
		dst = append(dst, b[i:end]...)
		i = end + 2
	}

	// trailer-section: field lines are validated and skipped; this
	// server gives trailers no meaning (RFC 9110 §6.5.1 allows that).
	for {
		if i >= len(b) {
			return 0, dst[:n0], ErrNeedMore
		}
		if b[i] == '\r' {
			if i+1 >= len(b) {
				return 0, dst[:n0], ErrNeedMore
			}
			if b[i+1] != '\n' {
				return 0, dst[:n0], ErrBadRequest
			}
			return i + 2, dst, nil
		}
		// field-line = field-name ":" OWS field-value OWS; every check is
		// made per byte so that any prefix fails the way the whole would.
		start := i
		colon := false
		for ; i < len(b) && b[i] != '\r'; i++ {
			c := b[i]
			switch {
			case colon:
				if !valueTable[c] {
					return 0, dst[:n0], ErrBadRequest
				}
			case c == ':':
				if i == start {
					return 0, dst[:n0], ErrBadRequest
				}
				colon = true
			case !tokenTable[c]:
				return 0, dst[:n0], ErrBadRequest
			}
			if used+(i-start)+1 > max {
				return 0, dst[:n0], ErrBodyTooLarge
			}
		}
		if i+1 >= len(b) {
			return 0, dst[:n0], ErrNeedMore
		}
		if b[i+1] != '\n' || !colon {
			return 0, dst[:n0], ErrBadRequest
		}
		used += i - start
		i += 2
	}
}
