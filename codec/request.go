package codec

// Default limits applied when a Limits field is zero or negative.
const (
	defaultMaxHeaderBytes = 8192
	defaultMaxHeaders     = 64
	defaultMaxTargetBytes = 4096
)

// Header is one header field line. Name and Value alias the parsed input.
type Header struct {
	Name, Value []byte
}

// Request is a parsed HTTP/1.x request head. All byte slices alias the
// input given to ParseRequest and are valid only as long as that input is;
// nothing is decoded or copied.
type Request struct {
	// Method is the request method, a token; it is case-sensitive
	// (RFC 9110 §9.1).
	Method []byte
	// Target is the request-target in origin-form, or "*" for OPTIONS.
	Target []byte
	// Path is Target up to the first '?', still percent-encoded.
	Path []byte
	// RawQuery is Target after the first '?', without it; nil when Target
	// has no '?'.
	RawQuery []byte
	// Minor is the minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// Headers holds the header fields in wire order. ParseRequest appends
	// to Headers[:0], so a reused Request allocates only when a request has
	// more fields than any before it.
	Headers []Header
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports "Transfer-Encoding: chunked".
	Chunked bool
	// KeepAlive reports whether the connection may serve another request:
	// for HTTP/1.1 unless "Connection: close", for HTTP/1.0 only with
	// "Connection: keep-alive" (RFC 9112 §9.3).
	KeepAlive bool
	// Upgrade reports a Connection list with the token "upgrade" together
	// with an Upgrade list with the token "websocket", both
	// case-insensitive.
	Upgrade bool

	// query is RawQuery split into its pairs, by the first Query call.
	query      []QueryPair
	querySplit bool
}

// Limits bounds the resources one request head may use. A zero or
// negative field selects its default.
type Limits struct {
	// MaxHeaderBytes bounds the whole head, including leading empty lines
	// and the final CRLF CRLF; zero means 8192.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields; zero means 64.
	MaxHeaders int
	// MaxTargetBytes bounds the request-target; zero means 4096.
	MaxTargetBytes int
}

// withDefaults returns the limits with zero or negative fields replaced by
// their defaults.
func (l Limits) withDefaults() (maxHead, maxHeaders, maxTarget int) {
	maxHead, maxHeaders, maxTarget = l.MaxHeaderBytes, l.MaxHeaders, l.MaxTargetBytes
	if maxHead <= 0 {
		maxHead = defaultMaxHeaderBytes
	}
	if maxHeaders <= 0 {
		maxHeaders = defaultMaxHeaders
	}
	if maxTarget <= 0 {
		maxTarget = defaultMaxTargetBytes
	}
	return maxHead, maxHeaders, maxTarget
}

// Reset clears r for reuse, keeping the capacity of r.Headers.
func (r *Request) Reset() {
	q := r.query[:0]
	if cap(q) > maxKeptQueryPairs {
		q = nil // a request with thousands of pairs: do not keep its table
	}
	*r = Request{Headers: r.Headers[:0], ContentLength: -1, query: q}
}

// Header returns the value of the first header field whose name equals
// name, ignoring ASCII case, or nil when there is none. It does not
// allocate.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// headState collects what the header fields say about framing and the
// connection while ParseRequest walks them; it lives on the stack.
type headState struct {
	hosts     int
	te        int
	teValue   []byte
	connClose bool
	connKeep  bool
	connUpg   bool
	upgWS     bool
}

// ParseRequest parses one HTTP/1.x request head from the start of b into r
// (RFC 9112 §2-§6). On success n is the length of the head including the
// final CRLF CRLF; the body, if any, starts at b[n:].
//
// ErrNeedMore means b is a valid prefix of a head shorter than
// lim.MaxHeaderBytes: call again with more bytes (r is then unspecified
// and n is 0). The scan runs left to right over at most MaxHeaderBytes
// bytes and fails at the first byte that cannot start or continue a valid
// head, so a bad prefix is rejected without waiting for more data, and
// feeding any prefix of an input gives either ErrNeedMore or the same
// result as the whole input. Checks that need the complete head (Host,
// Content-Length with Transfer-Encoding) run once its end is found.
//
// The parser is deliberately stricter than RFC 9112 asks of a general
// recipient, because every leniency here is a way for a front proxy and
// this server to disagree about where a request ends:
//   - only CRLF ends a line; a bare LF is rejected (RFC 9112 §2.2);
//   - obs-fold, and whitespace before the first field, are rejected
//     (RFC 9112 §5.2, §2.2);
//   - whitespace between a field name and ':' is rejected (RFC 9112 §5.1);
//   - a repeated Content-Length, or one that is not 1 to 18 digits, is
//     rejected rather than reconciled (RFC 9112 §6.3);
//   - Content-Length together with Transfer-Encoding is rejected as a
//     smuggling attempt, and any Transfer-Encoding other than one
//     "chunked" is refused (RFC 9112 §6.1, §6.3);
//   - only origin-form targets are accepted, and "*" only for OPTIONS: this
//     is an origin server, not a proxy, so absolute-form would only add a
//     second, conflicting source of the authority.
func ParseRequest(b []byte, r *Request, lim Limits) (n int, err error) {
	maxHead, maxHeaders, maxTarget := lim.withDefaults()
	r.Reset()

	// Scan at most maxHead bytes. Running out of input inside that window
	// is "need more"; running out at the window's edge is "too large".
	buf := b
	short := ErrNeedMore
	if len(buf) >= maxHead {
		buf = buf[:maxHead]
		short = ErrHeaderTooLarge
	}

	i := 0
	// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
	// the request-line. Any number is skipped; the size cap bounds them.
	for {
		if i >= len(buf) {
			return 0, short
		}
		if buf[i] != '\r' {
			break
		}
		if i+1 >= len(buf) {
			return 0, short
		}
		if buf[i+1] != '\n' {
			return 0, ErrBadRequest
		}
		i += 2
	}

	// request-line = method SP request-target SP HTTP-version CRLF
	// method       = token
	start := i
	if i, err = scanToken(buf, i, ' ', short); err != nil {
		return 0, err
	}
	r.Method = buf[start:i]
	i++

	// request-target: origin-form, or asterisk-form for OPTIONS
	// (RFC 9112 §3.2.1, §3.2.4).
	if i >= len(buf) {
		return 0, short
	}
	start = i
	query := -1
	switch buf[i] {
	case '/':
		for ; i < len(buf) && buf[i] != ' '; i++ {
			c := buf[i]
			if !targetTable[c] {
				return 0, ErrBadRequest
			}
			if i-start+1 > maxTarget {
				return 0, ErrURITooLong
			}
			if c == '?' && query < 0 {
				query = i
			}
		}
	case '*':
		if string(r.Method) != "OPTIONS" {
			return 0, ErrBadRequest
		}
		i++
		if i < len(buf) && buf[i] != ' ' {
			return 0, ErrBadRequest
		}
	default:
		// Absolute-form, authority-form, an empty target (two SPs) or
		// garbage: none is served here.
		return 0, ErrBadRequest
	}
	if i >= len(buf) {
		return 0, short
	}
	r.Target = buf[start:i]
	r.Path = r.Target
	if query >= 0 {
		r.Path = buf[start:query]
		r.RawQuery = buf[query+1 : i]
	}
	i++

	// HTTP-version = HTTP-name "/" DIGIT "." DIGIT, then CRLF
	// (RFC 9112 §2.3). The name is case-sensitive.
	const proto = "HTTP/1.1\r\n"
	for k := 0; k < len(proto); k++ {
		if i+k >= len(buf) {
			return 0, short
		}
		c := buf[i+k]
		if k == 5 || k == 7 {
			if c < '0' || c > '9' {
				return 0, ErrBadRequest
			}
		} else if c != proto[k] {
			return 0, ErrBadRequest
		}
	}
	if buf[i+5] != '1' || buf[i+7] > '1' {
		return 0, ErrVersionNotSupported
	}
	r.Minor = int(buf[i+7] - '0')
	i += len(proto)

	var st headState
	for {
		if i >= len(buf) {
			return 0, short
		}
		switch buf[i] {
		case '\r':
			if i+1 >= len(buf) {
				return 0, short
			}
			if buf[i+1] != '\n' {
				return 0, ErrBadRequest
			}
			if err := r.finish(&st); err != nil {
				return 0, err
			}
			return i + 2, nil
		case ' ', '\t':
			// obs-fold, or whitespace between the start-line and the
			// first field: a classic way to hide a field from one parser
			// but not another (RFC 9112 §2.2, §5.2).
			return 0, ErrBadRequest
		}
		if len(r.Headers) >= maxHeaders {
			return 0, ErrTooManyHeaders
		}

		// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5)
		// Anything but a tchar before ':', including SP and a bare LF, is
		// fatal.
		start = i
		if i, err = scanToken(buf, i, ':', short); err != nil {
			return 0, err
		}
		name := buf[start:i]
		i++
		for i < len(buf) && isOWS(buf[i]) {
			i++
		}
		start = i
		for ; i < len(buf) && buf[i] != '\r'; i++ {
			if !valueTable[buf[i]] {
				return 0, ErrBadRequest
			}
		}
		if i+1 >= len(buf) {
			return 0, short
		}
		if buf[i+1] != '\n' {
			return 0, ErrBadRequest
		}
		end := i
		for end > start && isOWS(buf[end-1]) {
			end--
		}
		value := buf[start:end]
		i += 2
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		if err := r.note(&st, name, value); err != nil {
			return 0, err
		}
	}
}

// note records what one header field means for framing and the
// connection. Errors that one field alone proves are returned at once, so
// that they surface as early as the bytes allow.
func (r *Request) note(st *headState, name, value []byte) error {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			// RFC 9112 §3.2: more than one Host is a 400. Two hosts let
			// a proxy and this server route the same request differently.
			st.hosts++
			if st.hosts > 1 {
				return ErrBadRequest
			}
		}
	case 7:
		if equalFold(name, "upgrade") && hasToken(value, "websocket") {
			st.upgWS = true
		}
	case 10:
		if equalFold(name, "connection") {
			st.connClose = st.connClose || hasToken(value, "close")
			st.connKeep = st.connKeep || hasToken(value, "keep-alive")
			st.connUpg = st.connUpg || hasToken(value, "upgrade")
		}
	case 14:
		if equalFold(name, "content-length") {
			// RFC 9112 §6.3 lets a recipient merge identical repeated
			// values; we refuse any repetition, because a front end that
			// picks the other copy gets a different body boundary.
			if r.ContentLength >= 0 {
				return ErrBadContentLength
			}
			v, ok := parseContentLength(value)
			if !ok {
				return ErrBadContentLength
			}
			r.ContentLength = v
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			st.te++
			st.teValue = value
		}
	}
	return nil
}

// finish applies the checks that need the whole head.
func (r *Request) finish(st *headState) error {
	if st.te > 0 {
		// RFC 9112 §6.1: with both present, Content-Length must be
		// ignored, or the request rejected; ignoring it is exactly the
		// disagreement request smuggling exploits, so reject.
		if r.ContentLength >= 0 {
			return ErrBadRequest
		}
		// RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means
		// faulty framing.
		if r.Minor == 0 {
			return ErrBadRequest
		}
		// Only one plain "chunked" is understood; codings such as
		// "gzip, chunked" or a repeated field are refused (RFC 9112 §6.1
		// lets a server answer 501 for codings it does not implement).
		if st.te != 1 || !equalFold(st.teValue, "chunked") {
			return ErrUnsupportedTransferEncoding
		}
		r.Chunked = true
	}
	// RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
	if r.Minor == 1 && st.hosts != 1 {
		return ErrBadRequest
	}
	if r.Minor == 1 {
		r.KeepAlive = !st.connClose
	} else {
		r.KeepAlive = st.connKeep && !st.connClose
	}
	r.Upgrade = st.connUpg && st.upgWS
	return nil
}

// parseContentLength parses Content-Length = 1*DIGIT (RFC 9110 §8.6),
// capped at 18 digits so the value always fits in an int64. Signs,
// spaces, commas and hex are rejected.
func parseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// scanToken returns the index of delim after a non-empty token (RFC 9110
// §5.6.2) starting at i: ErrBadRequest on any other byte or an empty token,
// short when buf ends first.
func scanToken(buf []byte, i int, delim byte, short error) (int, error) {
	start := i
	for ; i < len(buf) && buf[i] != delim; i++ {
		if !tokenTable[buf[i]] {
			return i, ErrBadRequest
		}
	}
	if i >= len(buf) {
		return i, short
	}
	if i == start {
		return i, ErrBadRequest
	}
	return i, nil
}
