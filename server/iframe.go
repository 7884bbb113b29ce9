package server

import (
	"strings"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
)

// The iframe forever-frame (docs/PROTOCOL.md): an HTML page whose script
// elements hand each event to the page that framed it. Same-origin pages
// get a call of their callback; a page on another origin gets a
// postMessage addressed to its origin only.

// iframeHead opens the page; old browsers render nothing of a streamed
// document before about 1 KiB has arrived, hence the padding.
var iframeHead = func() string {
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n<!--" +
		strings.Repeat(" ", 1024) + "-->\n"
}()

// callbackPrefix starts every callback name comet.js generates
// (__comet<digits>_<digits>_<digits>); nothing else may be called, so a
// third-party page cannot make ours run functions of its choosing.
const callbackPrefix = "__comet"

// validCallback reports whether cb is a name comet.js generates:
// "__comet" then 1 to 48 digits and underscores.
func validCallback(cb []byte) bool {
	rest, ok := strings.CutPrefix(string(cb), callbackPrefix)
	if !ok || len(rest) == 0 || len(rest) > 48 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// validOrigin reports whether b is a serialized origin a script may name
// as a postMessage target: scheme://host[:port] of lower-case letters,
// digits, '.', '-', ':' and brackets (IPv6), at most 128 bytes.
func validOrigin(b []byte) bool {
	s := string(b)
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "http://")
	}
	if !ok || len(rest) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// iframeParams returns an iframe request's callback and postMessage
// target (empty: call the callback, same origin).
func (s *session) iframeParams(req *codec.Request) (cb, target string, err error) {
	// Copied out of scratch at once: what reads the request next (the sid
	// in beginHTTP) reuses it.
	l := s.loop
	v, _, _ := req.QueryValue(l.scratch[:0], "cb")
	if !validCallback(v) {
		return "", "", protocol.ErrBadCallback
	}
	cb = string(v)
	v, found, _ := req.QueryValue(l.scratch[:0], "origin")
	if found && (!validOrigin(v) || !l.srv.originAllowed(v)) {
		return "", "", protocol.ErrBadOrigin
	}
	return cb, string(v), nil
}

// appendScript appends one event for an HTML-safe json: a call of the
// parent's callback, or a postMessage to the parent's origin.
func (s *session) appendScript(dst, safeJSON []byte) []byte {
	st := s.http
	if st.target == "" {
		dst = append(dst, "<script>parent."...)
		dst = append(dst, st.callback...)
		dst = append(dst, '(')
		dst = append(dst, safeJSON...)
		return append(dst, ");</script>\n"...)
	}
	dst = append(dst, `<script>parent.postMessage({"comet":"`...)
	dst = append(dst, st.callback...)
	dst = append(dst, `","ev":`...)
	dst = append(dst, safeJSON...)
	dst = append(dst, `},"`...)
	dst = append(dst, st.target...)
	return append(dst, "\");</script>\n"...)
}

// frameHeaders returns the header lines that say which pages may frame an
// HTML answer: this origin, and for the iframe transport the allowed
// origins too (CSP frame-ancestors; X-Frame-Options for browsers without
// it, which then only allow the same origin).
func frameHeaders(allowed []string, transport bool) []byte {
	csp := "'self'"
	if transport {
		for _, o := range allowed {
			if o != "*" && validOrigin([]byte(o)) {
				csp += " " + o
			}
		}
	}
	return []byte("X-Frame-Options: SAMEORIGIN\r\nContent-Security-Policy: frame-ancestors " + csp + "\r\n")
}
