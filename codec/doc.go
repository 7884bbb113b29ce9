// Package codec holds Comet's wire codecs: a strict, incremental HTTP/1.1
// request-head parser (RFC 9112), chunked body decoding, response writers,
// the WebSocket opening handshake (RFC 6455 §4.2) and WebSocket frame
// header encoding and decoding (RFC 6455 §5.2).
//
// Everything here is a pure function over byte slices: parsers take the
// bytes received so far and return how many they consumed, or ErrNeedMore
// when the input is a valid but incomplete prefix; writers append to a
// caller's slice in the style of strconv.AppendInt. The parse and append
// paths do not allocate when the caller reuses its Request and gives
// destination slices enough capacity.
//
// Must not import: gnet or any other networking package, the conn, server
// or bench packages, logging, or anything outside the standard library and
// github.com/gobwas/ws. The package performs no I/O, starts no goroutines,
// reads no clock and never logs; it never panics on any input.
//
// Concurrency: all functions are safe for concurrent use; a Request must not
// be shared between goroutines while it is being parsed into or read.
package codec
