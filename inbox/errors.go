package inbox

import "errors"

// Store errors. Implementations wrap them, so callers test with errors.Is.
var (
	// ErrInvalid: an argument breaks a documented format (an id's length
	// or bytes, a payload that is not JSON, a repeated recipient). The
	// node answers 400. Always wrapped in an *ArgError.
	ErrInvalid = errors.New("inbox: invalid argument")
	// ErrTooLarge: an argument is over a size limit (payload, recipients,
	// the append's total). The node answers 413. Always wrapped in an
	// *ArgError.
	ErrTooLarge = errors.New("inbox: too large")
	// ErrNotFound: the device, or the conversation, is not in the user's
	// inbox.
	ErrNotFound = errors.New("inbox: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("inbox: closed")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("inbox: corrupt record")
)

// ArgError reports which argument broke which limit. Its Err is ErrInvalid
// or ErrTooLarge.
type ArgError struct {
	// Arg names the argument: "user", "device", "conversation", "from",
	// "from device", "key", "payload", "recipients".
	Arg string
	// Reason says what is wrong, for logs and error replies.
	Reason string
	Err    error
}

// Error says which argument broke which limit.
func (e *ArgError) Error() string { return "inbox: " + e.Arg + ": " + e.Reason }

// Unwrap returns ErrInvalid or ErrTooLarge.
func (e *ArgError) Unwrap() error { return e.Err }

func invalid(arg, reason string) error {
	return &ArgError{Arg: arg, Reason: reason, Err: ErrInvalid}
}

func tooLarge(arg, reason string) error {
	return &ArgError{Arg: arg, Reason: reason, Err: ErrTooLarge}
}
