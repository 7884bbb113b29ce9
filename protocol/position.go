package protocol

import (
	"bytes"
	"errors"
	"strconv"
)

// A position names a channel and the last seq its client has seen:
// NAME~EPOCH~SEQ. A cursor is positions joined by '!'. Neither separator is
// a channel or epoch byte, so nothing needs escaping (docs/PROTOCOL.md).
const (
	PositionSep = '~'
	CursorSep   = '!'
	// MaxEpochBytes is the longest epoch a position may carry, on every
	// transport.
	MaxEpochBytes = 32
)

// Position errors (400).
var (
	ErrBadPosition      = errors.New("protocol: bad channel position")
	ErrTooManyPositions = errors.New("protocol: too many channels in one request")
)

var (
	positionSep = []byte{PositionSep}
	cursorSep   = []byte{CursorSep}
)

// Requested is one channel a transport request names, with the position
// its client resumes from. Channel and Epoch alias the request's bytes, so
// a Requested lives only while its request is handled.
type Requested struct {
	Channel  []byte
	Epoch    []byte
	Seq      uint64
	HasSince bool // false: from now
}

// ParsePosition parses NAME or NAME~EPOCH~SEQ.
func ParsePosition(b []byte) (Requested, error) {
	name, rest, found := bytes.Cut(b, positionSep)
	p := Requested{Channel: name}
	if !ValidChannel(name) {
		return p, ErrBadChannel
	}
	if !found {
		return p, nil
	}
	epoch, seq, ok := bytes.Cut(rest, positionSep)
	if !ok || !ValidEpoch(epoch) {
		return p, ErrBadPosition
	}
	n, err := strconv.ParseUint(string(seq), 10, 64)
	if err != nil {
		return p, ErrBadPosition
	}
	p.Epoch, p.Seq, p.HasSince = epoch, n, true
	return p, nil
}

// ValidEpoch reports whether b can be an epoch: at most MaxEpochBytes of
// [a-z0-9.]. The empty epoch is valid: its seq is trusted as is.
func ValidEpoch[T ~string | ~[]byte](b T) bool {
	if len(b) > MaxEpochBytes {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

// AddPosition parses raw and appends it to dst unless dst already names
// its channel (the first mention wins). It fails when dst would hold more
// than limit positions.
func AddPosition(dst []Requested, raw []byte, limit int) ([]Requested, error) {
	p, err := ParsePosition(raw)
	if err != nil {
		return dst, err
	}
	for _, q := range dst {
		if bytes.Equal(q.Channel, p.Channel) {
			return dst, nil
		}
	}
	if len(dst) >= limit {
		return dst, ErrTooManyPositions
	}
	return append(dst, p), nil
}

// AddCursor appends every position of cursor to dst, as AddPosition does.
func AddCursor(dst []Requested, cursor []byte, limit int) ([]Requested, error) {
	for len(cursor) > 0 {
		var part []byte
		part, cursor, _ = bytes.Cut(cursor, cursorSep)
		if len(part) == 0 {
			continue
		}
		var err error
		if dst, err = AddPosition(dst, part, limit); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// AppendPosition appends NAME~EPOCH~SEQ.
func AppendPosition(dst []byte, channel, epoch string, seq uint64) []byte {
	dst = append(dst, channel...)
	dst = append(dst, PositionSep)
	dst = append(dst, epoch...)
	dst = append(dst, PositionSep)
	return strconv.AppendUint(dst, seq, 10)
}
