// Package codec holds Comet's wire codecs: a strict, incremental HTTP/1.1
// request-head parser (RFC 9112) with a scanner that follows a head
// arriving in pieces, a resumable chunked body decoder, response writers,
// the WebSocket opening handshake (RFC 6455 §4.2), WebSocket frame header
// encoding and decoding (RFC 6455 §5.2) and an incremental UTF-8 validator
// for text messages (RFC 6455 §8.1).
//
// Everything here is pure computation over byte slices: parsers take the
// bytes received so far and return how many they consumed, or ErrNeedMore
// when the input is a valid but incomplete prefix; writers append to a
// caller's slice in the style of strconv.AppendInt. The types that keep
// state between pieces of input, HeadScanner, ChunkedDecoder and
// UTF8Validator, are small values owned by the caller, so that input
// arriving a byte at a time is not scanned again on every read. The
// parse and append paths do not allocate when the caller reuses its Request
// and gives destination slices enough capacity.
//
// Must not import: gnet or any other networking package, the conn, server
// or bench packages, logging, or anything outside the standard library and
// github.com/gobwas/ws. The package performs no I/O, starts no goroutines,
// reads no clock and never logs; it never panics on any input.
//
// Concurrency: all functions are safe for concurrent use; a Request must not
// be shared between goroutines while it is being parsed into or read.
package codec
