package codec

// permessage-deflate negotiation (RFC 7692 §5, §7.1) over the
// Sec-WebSocket-Extensions grammar of RFC 6455 §9.1:
//
//	Sec-WebSocket-Extensions = extension-list
//	extension-list = 1#extension
//	extension = extension-token *( ";" extension-param )
//	extension-token = registered-token
//	registered-token = token
//	extension-param = token [ "=" (token | quoted-string) ]
//	    ; the value after quoted-string unescaping MUST conform to token
//
// with optional whitespace around the separators (the "implied *LWS" of
// RFC 2616) and empty list elements skipped (RFC 9110 §5.6.1).

// DeflateParams is the permessage-deflate configuration the server accepts
// for one connection. The response always carries server_no_context_takeover
// (so one compression of a message serves every connection) and
// client_no_context_takeover (so no connection keeps an inflate window
// between messages); only the window the client allows the server varies.
type DeflateParams struct {
	// ServerMaxWindowBits is the server_max_window_bits value of the
	// accepted offer, 8 to 15, which the response must repeat (RFC 7692
	// §7.1.2.1); 0 when the offer had none.
	ServerMaxWindowBits uint8
}

// FullWindow reports whether the client allows the full 32 KiB LZ77 window,
// the one AppendDeflate uses. When it does not, the server may not send it
// compressed messages (compress/flate has no smaller window) and sends them
// uncompressed, which RFC 7692 §6 allows for any message.
func (p DeflateParams) FullWindow() bool {
	return p.ServerMaxWindowBits == 0 || p.ServerMaxWindowBits == 15
}

// NegotiateDeflate returns the first permessage-deflate offer in r's
// Sec-WebSocket-Extensions fields (in order, as one list: RFC 9110 §5.3)
// that the server accepts, and false when there is none. An offer is
// declined, and the next one considered, when it has a parameter RFC 7692
// does not define for offers, a parameter with an invalid value or a
// parameter twice (RFC 7692 §7.1); an element that breaks the grammar is
// skipped too, rather than failing the handshake, because declining an
// extension only costs the client its compression. Every offer that
// passes is acceptable: server_no_context_takeover is what the server does
// anyway, client_no_context_takeover and client_max_window_bits are hints
// it does not need, and a server_max_window_bits below 15 is honoured by
// sending nothing compressed.
func NegotiateDeflate(r *Request) (p DeflateParams, ok bool) {
	for i := range r.Headers {
		h := &r.Headers[i]
		if !equalFold(h.Name, "Sec-WebSocket-Extensions") {
			continue
		}
		if p, ok = negotiateDeflateValue(h.Value); ok {
			return p, true
		}
	}
	return DeflateParams{}, false
}

// AppendDeflateExtension appends the Sec-WebSocket-Extensions value that
// accepts p (RFC 7692 §7.1).
func AppendDeflateExtension(dst []byte, p DeflateParams) []byte {
	dst = append(dst, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"...)
	if b := p.ServerMaxWindowBits; b >= 8 && b <= 15 {
		dst = append(dst, "; server_max_window_bits="...)
		if b >= 10 {
			dst = append(dst, '1')
		}
		dst = append(dst, '0'+b%10)
	}
	return dst
}

// Parameters of an offer, one bit each to find duplicates.
const (
	paramServerNoContext = 1 << iota
	paramClientNoContext
	paramServerMaxWindow
	paramClientMaxWindow
)

// deflateOffer collects the parameters of one permessage-deflate offer.
type deflateOffer struct {
	seen    uint8
	bits    uint8 // server_max_window_bits
	invalid bool
}

// param records one parameter; quoted says value is the inside of a
// quoted-string, still escaped.
func (o *deflateOffer) param(name, value []byte, hasValue, quoted bool) {
	var bit uint8
	switch {
	case equalFold(name, "server_no_context_takeover"):
		bit = paramServerNoContext
		o.invalid = o.invalid || hasValue
	case equalFold(name, "client_no_context_takeover"):
		bit = paramClientNoContext
		o.invalid = o.invalid || hasValue
	case equalFold(name, "server_max_window_bits"):
		// RFC 7692 §7.1.2.1: an offer's value is required.
		bit = paramServerMaxWindow
		b, valid := windowBits(value, quoted)
		o.invalid = o.invalid || !hasValue || !valid
		o.bits = b
	case equalFold(name, "client_max_window_bits"):
		// RFC 7692 §7.1.2.2: the value may be left out.
		bit = paramClientMaxWindow
		if hasValue {
			_, valid := windowBits(value, quoted)
			o.invalid = o.invalid || !valid
		}
	default:
		o.invalid = true
		return
	}
	if o.seen&bit != 0 {
		o.invalid = true
	}
	o.seen |= bit
}

// windowBits parses a window size: a decimal integer from 8 to 15 without
// leading zeros (RFC 7692 §7.1.2.1), after quoted-string unescaping.
func windowBits(v []byte, quoted bool) (uint8, bool) {
	var digits [2]byte
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if quoted && c == '\\' && i+1 < len(v) {
			i++
			c = v[i]
		}
		if c < '0' || c > '9' || n == len(digits) {
			return 0, false
		}
		digits[n] = c
		n++
	}
	var b uint8
	switch {
	case n == 1:
		b = digits[0] - '0'
	case n == 2 && digits[0] == '1':
		b = 10 + digits[1] - '0'
	default:
		return 0, false
	}
	return b, b >= 8 && b <= 15
}

// negotiateDeflateValue looks for an acceptable offer in one field value.
func negotiateDeflateValue(v []byte) (DeflateParams, bool) {
	for i := 0; i < len(v); {
		var offer deflateOffer
		next, isDeflate, wellFormed := scanExtension(v, i, &offer)
		if isDeflate && wellFormed && !offer.invalid {
			return DeflateParams{ServerMaxWindowBits: offer.bits}, true
		}
		i = next
	}
	return DeflateParams{}, false
}

// scanExtension scans the list element that starts at v[i] and returns the
// index after the comma that ends it. For a permessage-deflate element, its
// parameters go to offer. A malformed element is scanned on to its comma,
// skipping quoted-strings, so the elements after it are still read.
func scanExtension(v []byte, i int, offer *deflateOffer) (next int, isDeflate, wellFormed bool) {
	i = skipOWS(v, i)
	if i < len(v) && v[i] == ',' {
		return i + 1, false, false // an empty element
	}
	name, i := extToken(v, i)
	if len(name) == 0 {
		return skipElement(v, i), false, false
	}
	isDeflate = equalFold(name, "permessage-deflate")
	for {
		i = skipOWS(v, i)
		if i == len(v) {
			return i, isDeflate, true
		}
		switch v[i] {
		case ',':
			return i + 1, isDeflate, true
		case ';':
		default:
			return skipElement(v, i), isDeflate, false
		}
		var pname, value []byte
		pname, i = extToken(v, skipOWS(v, i+1))
		if len(pname) == 0 {
			return skipElement(v, i), isDeflate, false
		}
		hasValue, quoted := false, false
		if j := skipOWS(v, i); j < len(v) && v[j] == '=' {
			j = skipOWS(v, j+1)
			hasValue = true
			if j < len(v) && v[j] == '"' {
				var ok bool
				value, i, ok = scanQuoted(v, j)
				if !ok {
					return len(v), isDeflate, false // unterminated: nothing follows
				}
				quoted = true
			} else {
				value, i = extToken(v, j)
				if len(value) == 0 {
					return skipElement(v, i), isDeflate, false
				}
			}
		}
		if isDeflate {
			offer.param(pname, value, hasValue, quoted)
		}
	}
}

// extToken returns the token at v[i] (possibly empty) and the index after it.
func extToken(v []byte, i int) ([]byte, int) {
	j := i
	for j < len(v) && tokenTable[v[j]] {
		j++
	}
	return v[i:j], j
}

// scanQuoted returns the inside of the quoted-string that starts at v[i]
// (escapes kept) and the index after its closing quote; false when it is
// not closed.
//
//	quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
//	quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
func scanQuoted(v []byte, i int) ([]byte, int, bool) {
	for j := i + 1; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[i+1 : j], j + 1, true
		}
	}
	return nil, len(v), false
}

// skipElement returns the index after the comma that ends the element
// around v[i], skipping quoted-strings, or len(v).
func skipElement(v []byte, i int) int {
	for ; i < len(v); i++ {
		switch v[i] {
		case ',':
			return i + 1
		case '"':
			_, j, ok := scanQuoted(v, i)
			if !ok {
				return len(v)
			}
			i = j - 1
		}
	}
	return len(v)
}

func skipOWS(v []byte, i int) int {
	for i < len(v) && isOWS(v[i]) {
		i++
	}
	return i
}
