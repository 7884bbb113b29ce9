package server

import (
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/conn"
)

// serverStats are the node's counters. Loops update them with atomics, so a
// snapshot can be read from any goroutine.
type serverStats struct {
	connections atomic.Int64 // open now
	websockets  atomic.Int64 // open now
	accepted    atomic.Int64
	requests    atomic.Int64
	upgrades    atomic.Int64
	published   atomic.Int64
	pollsParked atomic.Int64
	streams     atomic.Int64
	panics      atomic.Int64
	closed      [conn.ReasonHandshakeTimeout + 1]atomic.Int64
}

// loopStats are one loop's hot-path counters.
type loopStats struct {
	delivered atomic.Int64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Connections int64 // open connections of any kind
	WebSockets  int64 // open WebSockets
	Accepted    int64 // connections accepted since start
	Requests    int64 // HTTP requests handled
	Upgrades    int64 // WebSocket upgrades
	Channels    int64 // channels held in memory
	Published   int64 // messages published
	PollsParked int64 // long-polls parked since start
	Streams     int64 // SSE, chunked and iframe streams opened since start
	Delivered   int64 // message deliveries written to sockets
	Panics      int64 // recovered panics (each closed one connection)
	// Closed counts closed connections by reason name.
	Closed map[string]int64
}

// Stats returns a snapshot of the server's counters. Any goroutine.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections: s.stats.connections.Load(),
		WebSockets:  s.stats.websockets.Load(),
		Accepted:    s.stats.accepted.Load(),
		Requests:    s.stats.requests.Load(),
		Upgrades:    s.stats.upgrades.Load(),
		Channels:    s.channels.count.Load(),
		Published:   s.stats.published.Load(),
		PollsParked: s.stats.pollsParked.Load(),
		Streams:     s.stats.streams.Load(),
		Panics:      s.stats.panics.Load(),
		Closed:      make(map[string]int64),
	}
	for _, l := range *s.loops.Load() {
		st.Delivered += l.stats.delivered.Load()
	}
	for r := range s.stats.closed {
		if n := s.stats.closed[r].Load(); n > 0 {
			st.Closed[conn.Reason(r).String()] = n
		}
	}
	return st
}

func nowMillis() int64 { return time.Now().UnixMilli() }
