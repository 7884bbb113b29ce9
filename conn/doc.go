// Package conn holds the per-connection protocol state machines of Comet,
// sans I/O: bytes go in through Conn.Feed, response bytes come out appended
// to the event loop's Env.Out, and the connection's State says what the
// owner must do next (keep reading, or flush and close).
//
// A connection starts in StateHead, reading HTTP/1.1 requests (keep-alive
// and pipelining included). A request is handed to the Handler, which may
// answer it, upgrade the connection to StateWebSocket, or park it (long-poll
// and streaming transports). A WebSocket reassembles fragments, answers
// pings, validates UTF-8 and enforces size caps, and hands whole messages to
// the Handler. Every way a connection ends has one Reason, mapped in one
// place (close.go) to a WebSocket close code and to an HTTP status.
//
// Input is never re-parsed from the start of a read. What can be large and
// slow, the payload of a data frame and a chunked request body, is consumed
// as it arrives: a payload is unmasked at its offset, checked for UTF-8
// as it comes (so an invalid text fails with 1007 at its first bad byte)
// and appended to the message; a chunked body is decoded by a
// codec.ChunkedDecoder, its head copied aside. So the owner's input buffer
// holds at most a request head, a Content-Length body, a control frame or
// a frame header; Need says how much of one is missing. Every cap is
// decided before the bytes it bounds are kept. The buffers a message or
// request needs while it arrives come from pools that keep none over 64
// KiB, and go back as soon as it is handed on; InMessage tells the owner
// when one is in progress, so it can bound how long that lasts.
//
// Imports: codec, github.com/gobwas/ws, github.com/valyala/bytebufferpool
// and the standard library. It must not import gnet or server, start
// goroutines or take locks (the pools are sync.Pools, shared by all loops).
//
// Concurrency: a Conn belongs to the event loop that owns its socket; every
// method must be called from that loop. An Env is per loop, shared by the
// loop's connections one Feed at a time.
package conn
