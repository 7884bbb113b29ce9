package auth

import (
	"errors"
	"net/http"
)

// The kinds of failure. Every error this package returns matches exactly
// one of them with errors.Is, and AnswerFor maps each to what the client is
// told. The answers are documented in docs/AUTH.md ("Error answers").
var (
	// ErrMissing: the request carries no credentials and anonymous
	// connections are off. HTTP 401; WebSocket close 4500 "token
	// required": obtain a token, then connect (reconnecting without one
	// only repeats this).
	ErrMissing = errors.New("auth: token missing")

	// ErrInvalid: the token is malformed, forged, signed with a key or an
	// algorithm that is not configured, carries bad claims, or is not
	// valid yet. HTTP 401; WebSocket close 4501 "invalid token": do not
	// retry with the same token.
	ErrInvalid = errors.New("auth: token invalid")

	// ErrExpired: the token was genuine but its exp has passed. HTTP 401;
	// WebSocket close 4401 "token expired": refresh the token, then
	// reconnect (or send it in place, where the transport allows).
	ErrExpired = errors.New("auth: token expired")

	// ErrDenied: the connect hook's backend refused the request (it
	// answered 401 or 403, or named no user). HTTP 403; WebSocket close
	// 4503 "forbidden": do not reconnect until the user has logged in.
	ErrDenied = errors.New("auth: denied")

	// ErrUnavailable: the connect hook's backend could not answer (down,
	// too slow, 5xx, an answer that is too large or not the documented
	// JSON). HTTP 503; WebSocket close 4450 "auth unavailable": reconnect
	// later, with backoff.
	ErrUnavailable = errors.New("auth: backend unavailable")
)

// Error is a failure of one of the kinds above with a reason. Reason is a
// short fixed phrase safe to show the client ("bad signature"); Err, when
// set, is the underlying cause, for logs only: it may name keys, hosts or
// backend answers that a client must not see.
type Error struct {
	Kind   error
	Reason string
	Err    error
}

// Error returns the kind, the reason and the cause, for logs.
func (e *Error) Error() string {
	s := e.Kind.Error() + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func fail(kind error, reason string, cause error) *Error {
	return &Error{Kind: kind, Reason: reason, Err: cause}
}

// Answer is what the server tells a client for an authentication failure,
// on an HTTP transport (Status, Challenge, Reason as the body) and on an
// open WebSocket (Close with Reason as the close reason).
type Answer struct {
	// Status is the HTTP status.
	Status int
	// Close is the WebSocket close code: 4000-4499 tell the client to
	// reconnect, 4500-4999 not to (docs/PROTOCOL.md "Close codes").
	Close int
	// Reconnect is true when Close is in the reconnect range.
	Reconnect bool
	// Reason is a short phrase for the body or the close frame (at most
	// 123 bytes, the room a close frame has).
	Reason string
	// Challenge is the WWW-Authenticate header value for a 401 (RFC 6750
	// §3), "" for other statuses.
	Challenge string
}

// Close codes for authentication failures.
const (
	CloseExpired     = 4401 // token expired: refresh and reconnect
	CloseUnavailable = 4450 // auth backend unavailable: reconnect later
	CloseMissing     = 4500 // token required: get one, then connect
	CloseInvalid     = 4501 // invalid token: do not retry with it
	CloseForbidden   = 4503 // forbidden: do not reconnect
)

// AnswerFor maps an error of this package to the client's answer. An error
// of no known kind gets 500 and close 1011 (internal error, reconnect with
// backoff), so a bug never reads as a verdict on the credentials.
func AnswerFor(err error) Answer {
	reason := ""
	var e *Error
	if errors.As(err, &e) {
		reason = e.Reason
	}
	switch {
	case errors.Is(err, ErrExpired):
		return Answer{Status: http.StatusUnauthorized, Close: CloseExpired, Reconnect: true,
			Reason:    "token expired: refresh and reconnect",
			Challenge: `Bearer error="invalid_token", error_description="token expired"`}
	case errors.Is(err, ErrInvalid):
		if reason == "" {
			reason = "invalid token"
		}
		return Answer{Status: http.StatusUnauthorized, Close: CloseInvalid,
			Reason:    "invalid token: " + reason,
			Challenge: `Bearer error="invalid_token"`}
	case errors.Is(err, ErrMissing):
		return Answer{Status: http.StatusUnauthorized, Close: CloseMissing,
			Reason:    "token required",
			Challenge: `Bearer`}
	case errors.Is(err, ErrDenied):
		return Answer{Status: http.StatusForbidden, Close: CloseForbidden,
			Reason: "forbidden: do not reconnect"}
	case errors.Is(err, ErrUnavailable):
		return Answer{Status: http.StatusServiceUnavailable, Close: CloseUnavailable, Reconnect: true,
			Reason: "auth unavailable: reconnect later"}
	}
	return Answer{Status: http.StatusInternalServerError, Close: 1011, Reconnect: true,
		Reason: "internal error"}
}
