package server

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
)

// A position names a channel and the last seq its client has seen:
// NAME~EPOCH~SEQ. A cursor is positions joined by '!'. Neither separator is
// a channel or epoch byte, so nothing needs escaping (docs/PROTOCOL.md).
const (
	positionSep = '~'
	cursorSep   = '!'
	maxEpochLen = 32
)

var errBadPosition = errors.New("server: bad channel position")

// position is one channel requested by an HTTP transport. channel and
// epoch alias the request (or a copy when they had to be unescaped), so a
// position lives only while its request is being handled.
type position struct {
	channel  []byte
	epoch    []byte
	seq      uint64
	hasSince bool // false: from now
}

// parsePosition parses NAME or NAME~EPOCH~SEQ.
func parsePosition(b []byte) (position, error) {
	name, rest, found := bytes.Cut(b, []byte{positionSep})
	p := position{channel: name}
	if !protocol.ValidChannel(name) {
		return p, protocol.ErrBadChannel
	}
	if !found {
		return p, nil
	}
	epoch, seq, ok := bytes.Cut(rest, []byte{positionSep})
	if !ok || len(epoch) > maxEpochLen || !validEpoch(epoch) {
		return p, errBadPosition
	}
	n, err := strconv.ParseUint(string(seq), 10, 64)
	if err != nil {
		return p, errBadPosition
	}
	p.epoch, p.seq, p.hasSince = epoch, n, true
	return p, nil
}

func validEpoch(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

// parsePositions collects the positions of an HTTP transport request: the
// cursor (for SSE, Last-Event-ID) first, then the cursor and ch query
// parameters; a channel named twice counts once (the first mention wins).
func parsePositions(dst []position, rawQuery, lastEventID []byte, limit int) ([]position, error) {
	add := func(raw []byte) error {
		p, err := parsePosition(raw)
		if err != nil {
			return err
		}
		for _, q := range dst {
			if bytes.Equal(q.channel, p.channel) {
				return nil
			}
		}
		if len(dst) >= limit {
			return errTooManyChannels
		}
		dst = append(dst, p)
		return nil
	}
	addCursor := func(c []byte) error {
		for len(c) > 0 {
			var part []byte
			part, c, _ = bytes.Cut(c, []byte{cursorSep})
			if len(part) == 0 {
				continue
			}
			if err := add(part); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addCursor(lastEventID); err != nil {
		return dst, err
	}
	for _, key := range []string{"cursor", "ch"} {
		q := rawQuery
		for len(q) > 0 {
			var k, v []byte
			k, v, q = codec.NextQueryPair(q)
			if k == nil {
				break
			}
			if string(k) != key {
				continue
			}
			if bytes.ContainsAny(v, "%+") {
				// Rare: clients need not escape channel names. The copy
				// outlives the next parameter's unescaping.
				var err error
				if v, err = codec.AppendUnescape(nil, v); err != nil {
					return dst, err
				}
			}
			var err error
			if key == "cursor" {
				err = addCursor(v)
			} else {
				err = add(v)
			}
			if err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

var errTooManyChannels = errors.New("server: too many channels in one request")

// appendCursor appends the cursor of s's subscriptions.
func appendCursor(dst []byte, s *session) []byte {
	for i, ss := range s.subs {
		if i > 0 {
			dst = append(dst, cursorSep)
		}
		dst = s.loop.appendPosition(dst, ss.lc.ch, ss.seq)
	}
	return dst
}

// appendPosition appends NAME~EPOCH~SEQ.
func (l *loop) appendPosition(dst []byte, ch *channel, seq uint64) []byte {
	dst = append(dst, ch.name...)
	dst = append(dst, positionSep)
	dst = l.srv.channels.appendEpoch(dst, ch)
	dst = append(dst, positionSep)
	return strconv.AppendUint(dst, seq, 10)
}
