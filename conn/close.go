package conn

import (
	"errors"

	"github.com/comet-im/comet/codec"
	"github.com/gobwas/ws"
)

// Reason says why a connection ended. It is mapped, here and only here, to
// the WebSocket close code sent to the client and to the HTTP status used
// when the connection fails before an upgrade.
type Reason uint8

// Close reasons. Application codes follow the Centrifugo convention: 4000–4499
// mean "reconnect" (with since, nothing is lost), 4500–4999 mean "do not
// reconnect".
const (
	ReasonNone             Reason = iota
	ReasonNormal                  // 1000: the client closed, or the exchange ended
	ReasonShutdown                // 1001: server draining; reconnect elsewhere
	ReasonPeerClosed              // the TCP peer went away without a close frame
	ReasonProtocol                // 1002 / 400: a protocol violation
	ReasonUnsupported             // 1003: binary data on the JSON protocol
	ReasonBadUTF8                 // 1007: a text message that is not UTF-8
	ReasonPolicy                  // 1008 / 403: origin or access refused
	ReasonTooBig                  // 1009 / 413: message or body over the cap
	ReasonInternal                // 1011 / 500: a server fault (a recovered panic)
	ReasonSlowConsumer            // 4001: outbound budget exceeded; reconnect with since
	ReasonIdleTimeout             // 4002 / 408: no pong or traffic within the deadline
	ReasonHandshakeTimeout        // 408: request head not complete in time (slowloris)
	ReasonMessageTimeout          // 4003: a WebSocket message did not complete in time
	ReasonResync                  // 4004: the node lost track of a subscription; reconnect with since
	ReasonTokenExpired            // 4401 / 401: the token expired; refresh it and reconnect
	ReasonUnauthorized            // 4501 / 401: invalid credentials; do not retry as is
	ReasonForbidden               // 4503 / 403: not allowed; do not reconnect
	ReasonTokenMissing            // 4500 / 401: credentials required; get them, then connect
	ReasonAuthUnavailable         // 4450 / 503: the auth backend is down; reconnect later
	ReasonBadCompression          // 1007: a compressed message that is not valid DEFLATE data

	// ReasonCount is the number of reasons, for tables indexed by Reason.
	ReasonCount
)

var reasonNames = [...]string{
	ReasonNone:             "none",
	ReasonNormal:           "normal",
	ReasonShutdown:         "shutdown",
	ReasonPeerClosed:       "peer closed",
	ReasonProtocol:         "protocol error",
	ReasonUnsupported:      "unsupported data",
	ReasonBadUTF8:          "invalid utf-8",
	ReasonPolicy:           "policy violation",
	ReasonTooBig:           "message too big",
	ReasonInternal:         "internal error",
	ReasonSlowConsumer:     "slow consumer",
	ReasonIdleTimeout:      "idle timeout",
	ReasonHandshakeTimeout: "request timeout",
	ReasonMessageTimeout:   "message timeout",
	ReasonResync:           "resync",
	ReasonTokenExpired:     "token expired",
	ReasonUnauthorized:     "unauthorized",
	ReasonForbidden:        "forbidden",
	ReasonTokenMissing:     "token required",
	ReasonAuthUnavailable:  "auth unavailable",
	ReasonBadCompression:   "invalid compressed data",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Application close codes (RFC 6455 §7.4.2 private range).
const (
	StatusSlowConsumer   ws.StatusCode = 4001
	StatusIdleTimeout    ws.StatusCode = 4002
	StatusMessageTimeout ws.StatusCode = 4003
	StatusResync         ws.StatusCode = 4004
	StatusTokenExpired   ws.StatusCode = 4401
	StatusUnauthorized   ws.StatusCode = 4501
	StatusForbidden      ws.StatusCode = 4503
	StatusTokenMissing   ws.StatusCode = 4500
	StatusAuthDown       ws.StatusCode = 4450
)

// WSCode returns the close code sent for r.
func (r Reason) WSCode() ws.StatusCode {
	switch r {
	case ReasonNormal, ReasonPeerClosed, ReasonNone:
		return ws.StatusNormalClosure
	case ReasonShutdown:
		return ws.StatusGoingAway
	case ReasonProtocol:
		return ws.StatusProtocolError
	case ReasonUnsupported:
		return ws.StatusUnsupportedData
	case ReasonBadUTF8, ReasonBadCompression:
		return ws.StatusInvalidFramePayloadData
	case ReasonPolicy:
		return ws.StatusPolicyViolation
	case ReasonTooBig:
		return ws.StatusMessageTooBig
	case ReasonSlowConsumer:
		return StatusSlowConsumer
	case ReasonIdleTimeout, ReasonHandshakeTimeout:
		return StatusIdleTimeout
	case ReasonMessageTimeout:
		return StatusMessageTimeout
	case ReasonResync:
		return StatusResync
	case ReasonTokenExpired:
		return StatusTokenExpired
	case ReasonUnauthorized:
		return StatusUnauthorized
	case ReasonForbidden:
		return StatusForbidden
	case ReasonTokenMissing:
		return StatusTokenMissing
	case ReasonAuthUnavailable:
		return StatusAuthDown
	default:
		return ws.StatusInternalServerError
	}
}

// HTTPStatus returns the status answered for r before an upgrade.
func (r Reason) HTTPStatus() int {
	switch r {
	case ReasonPolicy, ReasonForbidden:
		return 403
	case ReasonTokenExpired, ReasonUnauthorized, ReasonTokenMissing:
		return 401
	case ReasonTooBig:
		return 413
	case ReasonIdleTimeout, ReasonHandshakeTimeout, ReasonMessageTimeout:
		return 408
	case ReasonShutdown, ReasonResync, ReasonAuthUnavailable:
		return 503
	case ReasonInternal:
		return 500
	default:
		return 400
	}
}

// reasonForStatus is the inverse of HTTPStatus, for connections refused
// with an HTTP status before any upgrade.
func reasonForStatus(status int) Reason {
	switch status {
	case 403:
		return ReasonPolicy
	case 408:
		return ReasonHandshakeTimeout
	case 413, 414, 431:
		return ReasonTooBig
	case 503:
		return ReasonShutdown
	case 500:
		return ReasonInternal
	}
	return ReasonProtocol
}

// HTTPStatusOf maps a codec request or handshake error to its HTTP status.
func HTTPStatusOf(err error) int {
	switch {
	case errors.Is(err, codec.ErrHeaderTooLarge), errors.Is(err, codec.ErrTooManyHeaders):
		return 431
	case errors.Is(err, codec.ErrURITooLong):
		return 414
	case errors.Is(err, codec.ErrVersionNotSupported):
		return 505
	case errors.Is(err, codec.ErrUnsupportedTransferEncoding):
		return 501
	case errors.Is(err, codec.ErrBodyTooLarge):
		return 413
	case errors.Is(err, codec.ErrNotUpgrade), errors.Is(err, codec.ErrBadWSVersion):
		return 426
	default:
		return 400
	}
}
