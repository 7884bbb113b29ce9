package protocol

// Close codes: what a client should do when its connection ends with a
// code (WebSocket close frames; the HTTP transports carry the same code in
// their final event). The application range follows Centrifugo's
// convention: 4000-4499 mean "reconnect", 4500-4999 mean "do not".
const (
	CloseNormal          uint16 = 1000
	CloseGoingAway       uint16 = 1001 // the node drains: reconnect, elsewhere
	CloseProtocolError   uint16 = 1002
	CloseUnsupportedData uint16 = 1003
	CloseAbnormal        uint16 = 1006 // no close frame (never sent, only seen)
	CloseBadData         uint16 = 1007
	ClosePolicy          uint16 = 1008
	CloseTooBig          uint16 = 1009
	CloseInternal        uint16 = 1011

	CloseSlowConsumer   uint16 = 4001 // outbound budget exceeded
	CloseIdleTimeout    uint16 = 4002 // no traffic after a ping
	CloseMessageTimeout uint16 = 4003 // a message did not complete in time
	CloseResync         uint16 = 4004 // the node lost track of a channel: resubscribe with since
	CloseTokenExpired   uint16 = 4401 // refresh the token, then reconnect
	CloseUnauthorized   uint16 = 4501 // invalid or missing credentials: do not retry as is
	CloseForbidden      uint16 = 4503 // not allowed: do not reconnect
)

// Reconnect reports whether a client should reconnect (with backoff, and
// with its positions) after its connection closed with code.
func Reconnect(code uint16) bool {
	switch {
	case code == CloseGoingAway, code == CloseAbnormal, code == CloseInternal:
		return true
	case code >= 4000 && code < 4500:
		return true
	}
	return false
}
