package server

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/comet-im/comet/codec"
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

// position is one channel requested by an HTTP transport.
type position struct {
	channel  string
	epoch    string
	seq      uint64
	hasSince bool // false: from now
}

// parsePosition parses NAME or NAME~EPOCH~SEQ.
func parsePosition(b []byte) (position, error) {
	name, rest, found := bytes.Cut(b, []byte{positionSep})
	p := position{channel: string(name)}
	if !codec.ValidChannel(p.channel) {
		return p, codec.ErrBadChannel
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
	p.epoch, p.seq, p.hasSince = string(epoch), n, true
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
// cursor (from the query or, for SSE, Last-Event-ID) first, then every ch
// parameter naming a channel not already in it. scratch is reused.
func parsePositions(dst []position, rawQuery, lastEventID []byte, scratch *[]byte, limit int) ([]position, error) {
	add := func(raw []byte) error {
		p, err := parsePosition(raw)
		if err != nil {
			return err
		}
		for _, q := range dst {
			if q.channel == p.channel {
				return nil // the first mention wins: the cursor's position
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
			val, err := codec.AppendUnescape((*scratch)[:0], v)
			*scratch = val
			if err != nil {
				return dst, err
			}
			if key == "cursor" {
				err = addCursor(val)
			} else {
				err = add(val)
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
		dst = append(dst, ss.lc.ch.name...)
		dst = append(dst, positionSep)
		dst = s.loop.srv.channels.appendEpoch(dst, ss.lc.ch)
		dst = append(dst, positionSep)
		dst = strconv.AppendUint(dst, ss.seq, 10)
	}
	return dst
}
