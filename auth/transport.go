package auth

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
)

// TokenTransport says where a connection token may travel in a request,
// and takes it from there. The zero value takes it from the Authorization
// header and the "token" query parameter, not from cookies.
//
// Each place has its trade-off (docs/AUTH.md "Where the token travels"):
//   - Authorization: Bearer (RFC 6750 §2.1) stays out of access logs and
//     is never sent by the browser on its own, but browsers cannot set
//     headers on WebSocket, EventSource or iframe requests: only fetch and
//     XHR transports (long-poll, POST /send) can use it.
//   - The query parameter works for every transport, but URLs end up in
//     access logs, proxy logs and browser history: keep tokens
//     short-lived and redact logged URLs (RedactQuery).
//   - A cookie works for every transport and stays out of URLs, but the
//     browser attaches it to cross-site requests too: a cross-site page
//     can open a WebSocket with the user's cookie (cross-site WebSocket
//     hijacking). The server must check Origin for cookie-borne tokens
//     (Source.Ambient), and the cookie should be HttpOnly, Secure and
//     SameSite=Lax or Strict.
type TokenTransport struct {
	// DisableHeader ignores the Authorization header.
	DisableHeader bool
	// DisableQuery ignores the query parameter.
	DisableQuery bool
	// QueryParam is the query parameter's name; "" means "token".
	QueryParam string
	// Cookie is the cookie's name; "" means cookies are not looked at.
	Cookie string
	// MaxTokenBytes bounds the token, as sent. Zero means 4096, as for
	// VerifierConfig.
	MaxTokenBytes int
}

// TokenRequest holds the parts of a request a token may come in. Fields
// are raw, as received.
type TokenRequest struct {
	// Authorization is the Authorization header's value.
	Authorization string
	// Query is the raw query string, without the '?'.
	Query string
	// Cookie is the Cookie header's value (several Cookie headers joined
	// with "; ").
	Cookie string
}

// Source says where a token was found.
type Source uint8

// The sources, in the order Extract looks at them.
const (
	SourceNone Source = iota
	SourceHeader
	SourceQuery
	SourceCookie
)

var sourceNames = [...]string{"none", "header", "query", "cookie"}

// String names the source.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("Source(%d)", s)
}

// Ambient reports whether the browser sends this credential on its own,
// with cross-site requests too (a cookie): the server must then check the
// request's Origin before it trusts the token.
func (s Source) Ambient() bool { return s == SourceCookie }

// Extract takes the token from r. The Authorization header comes first,
// then the query parameter, then the cookie: a credential the page passed
// on purpose wins over one the browser attached by itself. Only the first
// place that has a token is read; the others are not compared.
//
// An empty query parameter or cookie ("token=") counts as absent, so that
// a client without a token can still connect anonymously.
//
// Errors: ErrMissing when no enabled place has a token; ErrInvalid for a
// token over MaxTokenBytes, an empty Bearer credential, a query parameter
// given twice (two tokens in one request is an attempt to confuse some
// layer about which one counts), or bad percent-encoding. An Authorization
// header with another scheme (Basic, for a proxy) is ignored. CPU only.
func (t *TokenTransport) Extract(r TokenRequest) (string, Source, error) {
	max := cmp.Or(t.MaxTokenBytes, DefaultMaxTokenBytes)
	if !t.DisableHeader && r.Authorization != "" {
		tok, ok, err := bearer(r.Authorization)
		if err != nil {
			return "", SourceHeader, err
		}
		if ok {
			return bounded(tok, SourceHeader, max)
		}
	}
	if !t.DisableQuery && r.Query != "" {
		tok, ok, err := queryValue(r.Query, cmp.Or(t.QueryParam, "token"), max)
		if err != nil {
			return "", SourceQuery, err
		}
		if ok && tok != "" {
			return bounded(tok, SourceQuery, max)
		}
	}
	if t.Cookie != "" && r.Cookie != "" {
		if tok, ok := cookieValue(r.Cookie, t.Cookie); ok && tok != "" {
			return bounded(tok, SourceCookie, max)
		}
	}
	return "", SourceNone, fail(ErrMissing, "no token", nil)
}

func bounded(tok string, s Source, max int) (string, Source, error) {
	switch {
	case tok == "":
		return "", s, fail(ErrInvalid, "empty token", nil)
	case len(tok) > max:
		return "", s, fail(ErrInvalid, "token too large", nil)
	}
	return tok, s, nil
}

// bearer reads an Authorization value of the Bearer scheme (RFC 6750
// §2.1; the scheme is case-insensitive, RFC 9110 §11.1). ok is false for
// another scheme.
func bearer(v string) (tok string, ok bool, err error) {
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	rest = strings.TrimLeft(rest, " ")
	if rest == "" || strings.ContainsAny(rest, " \t") {
		return "", true, fail(ErrInvalid, "malformed bearer credential", nil)
	}
	return rest, true, nil
}

// queryValue finds parameter name in a raw query string. Pairs are
// separated by '&' only (';' is not a separator, as in net/url since Go
// 1.17). A value is percent-decoded only when it needs it; a value longer
// than three times max cannot decode to max bytes and is refused before
// decoding.
func queryValue(q, name string, max int) (string, bool, error) {
	var found string
	ok := false
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		key, val, _ := strings.Cut(pair, "=")
		if key != name {
			if !strings.ContainsAny(key, "%+") {
				continue
			}
			k, err := url.QueryUnescape(key)
			if err != nil || k != name {
				continue
			}
		}
		if ok {
			return "", true, fail(ErrInvalid, "token given twice", nil)
		}
		ok = true
		found = val
	}
	if !ok {
		return "", false, nil
	}
	if len(found) > 3*max {
		return "", true, fail(ErrInvalid, "token too large", nil)
	}
	if strings.ContainsAny(found, "%+") {
		v, err := url.QueryUnescape(found)
		if err != nil {
			return "", true, fail(ErrInvalid, "bad query encoding", err)
		}
		found = v
	}
	return found, true, nil
}

// cookieValue finds cookie name in a Cookie header value (RFC 6265 §5.4:
// "name=value" pairs separated by "; "). The first one wins, as in
// net/http: browsers send the cookie with the longest path first. A
// quoted value is unquoted.
func cookieValue(header, name string) (string, bool) {
	for header != "" {
		var pair string
		pair, header, _ = strings.Cut(header, ";")
		pair = strings.TrimSpace(pair)
		key, val, found := strings.Cut(pair, "=")
		if !found || key != name {
			continue
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		return val, true
	}
	return "", false
}

// RedactQuery returns the raw query q with the value of parameter param
// ("" means "token") replaced by "REDACTED", for access logs.
func RedactQuery(q, param string) string {
	param = cmp.Or(param, "token")
	pairs := strings.Split(q, "&")
	changed := false
	for i, pair := range pairs {
		key, _, hasValue := strings.Cut(pair, "=")
		if !hasValue {
			continue
		}
		if k, err := url.QueryUnescape(key); key == param || (err == nil && k == param) {
			pairs[i] = key + "=REDACTED"
			changed = true
		}
	}
	if !changed {
		return q
	}
	return strings.Join(pairs, "&")
}
