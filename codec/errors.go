package codec

import "errors"

// Sentinel errors returned by the parsers. Callers map them to an HTTP
// status or a WebSocket close code with errors.Is; the intended mapping is
// given next to each one.
var (
	// ErrNeedMore reports that the input is a valid prefix that is not yet
	// complete. It is flow control, not failure: call again with more bytes.
	ErrNeedMore = errors.New("codec: need more data")

	// ErrHeaderTooLarge reports a request head that did not end within
	// Limits.MaxHeaderBytes (HTTP 431).
	ErrHeaderTooLarge = errors.New("codec: request head too large")

	// ErrTooManyHeaders reports more than Limits.MaxHeaders header fields
	// (HTTP 431).
	ErrTooManyHeaders = errors.New("codec: too many header fields")

	// ErrURITooLong reports a request-target longer than
	// Limits.MaxTargetBytes (HTTP 414).
	ErrURITooLong = errors.New("codec: request target too long")

	// ErrBadRequest reports a malformed request head, chunked body or query
	// (HTTP 400).
	ErrBadRequest = errors.New("codec: malformed request")

	// ErrBadContentLength reports a malformed or repeated Content-Length
	// header field (HTTP 400).
	ErrBadContentLength = errors.New("codec: invalid content-length")

	// ErrUnsupportedTransferEncoding reports a Transfer-Encoding other than
	// a single "chunked" (HTTP 501).
	ErrUnsupportedTransferEncoding = errors.New("codec: unsupported transfer-encoding")

	// ErrVersionNotSupported reports a well-formed HTTP version other than
	// 1.0 and 1.1 (HTTP 505).
	ErrVersionNotSupported = errors.New("codec: http version not supported")

	// ErrBodyTooLarge reports a body whose decoded size exceeds the caller's
	// maximum (HTTP 413).
	ErrBodyTooLarge = errors.New("codec: body too large")

	// ErrNotUpgrade reports a request without the WebSocket upgrade tokens
	// (HTTP 426).
	ErrNotUpgrade = errors.New("codec: not a websocket upgrade")

	// ErrBadUpgrade reports an invalid WebSocket opening handshake (HTTP 400).
	ErrBadUpgrade = errors.New("codec: invalid websocket upgrade")

	// ErrBadWSVersion reports a missing or unsupported Sec-WebSocket-Version
	// (HTTP 426 with "Sec-WebSocket-Version: 13", RFC 6455 §4.4).
	ErrBadWSVersion = errors.New("codec: unsupported websocket version")

	// ErrBadFrame reports a malformed WebSocket frame header (close 1002).
	ErrBadFrame = errors.New("codec: malformed frame header")

	// ErrBadClosePayload reports an invalid close frame payload: one byte
	// long, or carrying a status code not allowed on the wire (close 1002).
	ErrBadClosePayload = errors.New("codec: invalid close frame payload")

	// ErrCloseReasonUTF8 reports a close reason that is not valid UTF-8
	// (close 1007, RFC 6455 §8.1).
	ErrCloseReasonUTF8 = errors.New("codec: close reason is not valid utf-8")

	// ErrInflateTooLarge reports a compressed message that inflates past
	// its limit (close 1009, RFC 6455 §7.4.1).
	ErrInflateTooLarge = errors.New("codec: inflated message too large")

	// ErrBadDeflate reports a compressed message that is not valid DEFLATE
	// data (close 1007, "data within a message that was not consistent
	// with the type of the message", RFC 6455 §7.4.1: RFC 7692 names no
	// code of its own).
	ErrBadDeflate = errors.New("codec: invalid compressed data")
)
