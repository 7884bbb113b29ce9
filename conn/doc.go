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
// Imports: codec, github.com/gobwas/ws, github.com/valyala/bytebufferpool
// and the standard library. It must not import gnet or server, start
// goroutines or take locks.
//
// Concurrency: a Conn belongs to the event loop that owns its socket; every
// method must be called from that loop. An Env is per loop, shared by the
// loop's connections one Feed at a time.
package conn
