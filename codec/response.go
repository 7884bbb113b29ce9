package codec

import (
	"bytes"
	"strconv"
)

// StatusText returns the reason phrase for the status codes Comet sends
// (RFC 9110 §15, RFC 6585 for 429 and 431), or "" for any other code.
func StatusText(code int) string {
	switch code {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 426:
		return "Upgrade Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// AppendStatusLine appends "HTTP/1.1 <code> <reason>\r\n" to dst
// (RFC 9112 §4). A code outside 100..999 cannot be written as the three
// digits the grammar requires and is sent as 500; a code without a known
// reason gets an empty one, which the grammar allows.
func AppendStatusLine(dst []byte, code int) []byte {
	if code < 100 || code > 999 {
		code = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(code)...)
	return append(dst, "\r\n"...)
}

// AppendHeader appends the field line "name: value\r\n" to dst. CR and LF
// in name or value are replaced by SP, as net/http does, so that a value
// that came from a client can never end the line early and inject a
// header or split the response.
func AppendHeader(dst []byte, name, value string) []byte {
	dst = appendNoNewline(dst, name)
	dst = append(dst, ": "...)
	dst = appendNoNewline(dst, value)
	return append(dst, "\r\n"...)
}

// AppendHeaderInt appends the field line "name: v\r\n" to dst.
func AppendHeaderInt(dst []byte, name string, v int64) []byte {
	dst = appendNoNewline(dst, name)
	dst = append(dst, ": "...)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, "\r\n"...)
}

// appendNoNewline appends s with CR and LF replaced by SP. It copies
// first and then mends the copy, without building the byte set
// strings.ContainsAny builds per call.
func appendNoNewline(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, s...)
	for i, c := range dst[start:] {
		if c == '\r' || c == '\n' {
			dst[start+i] = ' '
		}
	}
	return dst
}

// AppendResponse writes a complete response: status line, Content-Type
// (omitted when ""), Content-Length, "Connection: close" when !keepAlive,
// Cache-Control: no-store (unless extra has its own Cache-Control line),
// X-Content-Type-Options: nosniff, any extra raw header lines given in
// extra (already CRLF-terminated, may be nil), blank line, body.
//
// For 1xx, 204 and 304 responses, which cannot carry content, the body and
// Content-Length are left out (RFC 9110 §6.4.1, §8.6); for the others
// Content-Length is always sent so a keep-alive client knows where the
// response ends. extra is copied as given: it must come from trusted code.
func AppendResponse(dst []byte, code int, contentType string, extra []byte, body []byte, keepAlive bool) []byte {
	dst = AppendResponseHead(dst, code, contentType, extra, len(body), keepAlive)
	if hasContent(code) {
		dst = append(dst, body...)
	}
	return dst
}

// AppendResponseHead writes what AppendResponse writes before the body,
// announcing contentLength bytes: the whole answer to a HEAD request
// (RFC 9110 §9.3.2).
func AppendResponseHead(dst []byte, code int, contentType string, extra []byte, contentLength int, keepAlive bool) []byte {
	dst = AppendStatusLine(dst, code)
	if contentType != "" {
		dst = AppendHeader(dst, "Content-Type", contentType)
	}
	if hasContent(code) {
		dst = AppendHeaderInt(dst, "Content-Length", int64(contentLength))
	}
	if !keepAlive {
		dst = append(dst, "Connection: close\r\n"...)
	}
	// Push responses are per-user and live: no cache may store them; and
	// no browser may guess another type than the one declared (a JSON
	// error body sniffed as HTML would run script).
	// An answer that may be cached (a static asset) says so in extra.
	if !hasLine(extra, "Cache-Control:") {
		dst = append(dst, "Cache-Control: no-store\r\n"...)
	}
	dst = append(dst, "X-Content-Type-Options: nosniff\r\n"...)
	dst = append(dst, extra...)
	return append(dst, "\r\n"...)
}

// hasLine reports whether the header lines in extra include one that
// starts with name (as written: extra comes from trusted code).
func hasLine(extra []byte, name string) bool {
	for len(extra) > 0 {
		if bytes.HasPrefix(extra, []byte(name)) {
			return true
		}
		i := bytes.IndexByte(extra, '\n')
		if i < 0 {
			return false
		}
		extra = extra[i+1:]
	}
	return false
}

// hasContent reports whether a response with this status may carry content.
func hasContent(code int) bool { return code >= 200 && code != 204 && code != 304 }
