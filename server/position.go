package server

import (
	"bytes"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
)

// requestPositions collects the positions an HTTP transport request names
// into the loop's scratch: the Last-Event-ID cursor (SSE) first, then the
// cursor and ch query parameters; a channel named twice counts once (the
// first mention wins). On an open node it fails when none is named (an
// authenticated client always has its personal channel).
func (s *session) requestPositions(req *codec.Request, lastEventID []byte) ([]protocol.Requested, error) {
	l := s.loop
	positions, err := parsePositions(l.positions[:0], req, lastEventID, l.srv.conf().MaxSubscriptions)
	l.positions = positions
	if err == nil && len(positions) == 0 && l.srv.open() {
		err = protocol.ErrNoChannels
	}
	return positions, err
}

// parsePositions parses the positions of a request's query and
// Last-Event-ID, at most limit of them.
func parsePositions(dst []protocol.Requested, req *codec.Request, lastEventID []byte, limit int) ([]protocol.Requested, error) {
	dst, err := protocol.AddCursor(dst, lastEventID, limit)
	if err != nil {
		return dst, err
	}
	for _, key := range []string{"cursor", "ch"} {
		for _, p := range req.Query() {
			k, v := p.Key, p.Value
			if string(k) != key {
				continue
			}
			if bytes.IndexByte(v, '%') >= 0 || bytes.IndexByte(v, '+') >= 0 {
				// Rare: clients need not escape channel names. The copy
				// outlives the next parameter's unescaping.
				if v, err = codec.AppendUnescape(nil, v); err != nil {
					return dst, err
				}
			}
			if key == "cursor" {
				dst, err = protocol.AddCursor(dst, v, limit)
			} else {
				dst, err = protocol.AddPosition(dst, v, limit)
			}
			if err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// requestError is what the client is told about a malformed transport
// request: the protocol's reason when it has one, else a plain 400.
func requestError(err error) *protocol.Error {
	if e := protocol.ErrorOf(err); e != protocol.ErrInternal {
		return e
	}
	return protocol.ErrBadRequest
}
