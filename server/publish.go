package server

import (
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/protocol"
)

// Publish publishes data (a JSON text) to channel name from the backend
// side of the node, as POST /api/publish does, and returns its seq. It
// may block on the engine; call it from any goroutine but an event loop.
func (s *Server) Publish(name string, data []byte) (uint64, error) {
	if !protocol.ValidChannel(name) {
		return 0, protocol.ErrBadChannel
	}
	compact, err := protocol.AppendCompactJSON(nil, data, s.conf().MaxJSONDepth)
	if err != nil {
		return 0, err
	}
	if len(compact) > s.conf().MaxMessageBytes {
		return 0, protocol.ErrPayloadTooBig
	}
	ctx, cancel := s.callContext() // no timer for an engine that never waits
	defer cancel()
	defer s.stats.endCall(opPublish, s.stats.now())
	pos, err := s.conf().Broker.Publish(ctx, name, compact, broker.PublishOptions{})
	if err != nil {
		return 0, err
	}
	s.stats.published.Add(1)
	return pos.Seq, nil
}
