// Package protocol is Comet's client protocol above the wire: the JSON
// envelope of every message and reply, channel names, and (as the engine
// seam lands) positions and cursors, typed client errors and the meaning of
// close codes. Package codec carries bytes on HTTP/1.1 and WebSocket; this
// package says what those bytes mean to a Comet client.
//
// Everything here is pure: functions over values and byte slices, no I/O,
// no clock, no logging, no goroutines. Appenders write to a caller's slice
// in the style of strconv.AppendInt and allocate nothing on the delivery
// paths.
//
// Must not import: gnet, conn, server, broker implementations, bench, or
// anything outside the standard library.
//
// Concurrency: every function is safe for concurrent use.
package protocol
