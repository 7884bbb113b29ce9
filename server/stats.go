package server

import (
	"sync/atomic"

	"github.com/comet-im/comet/conn"
)

// counter is a count with one writer, its loop: it is stored, not added
// atomically (no locked instruction on the hot path), and read from any
// goroutine when stats are gathered.
type counter struct{ v atomic.Int64 }

func (c *counter) add(n int64) { c.v.Store(c.v.Load() + n) }
func (c *counter) load() int64 { return c.v.Load() }

// loopStats are one loop's counters, written by the loop only and summed
// by Stats at scrape time.
type loopStats struct {
	accepted  counter
	requests  counter
	upgrades  counter
	delivered counter
	open      [kindCount]counter
	closed    [conn.ReasonCount]counter
	refused   [refusalCount]counter
}

// serverStats are node-wide counters bumped off the hot path.
type serverStats struct {
	published   atomic.Int64
	pollsParked atomic.Int64
	streams     atomic.Int64
	resyncs     atomic.Int64
	panics      atomic.Int64
	acceptErrs  atomic.Int64
	// presenceDropped counts presence work dropped for a full queue.
	presenceDropped atomic.Int64
	// reloads counts configurations applied by Reload.
	reloads atomic.Int64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Connections int64 // open connections of any kind
	WebSockets  int64 // open WebSockets
	Accepted    int64 // connections accepted since start
	Requests    int64 // HTTP requests handled
	Upgrades    int64 // WebSocket upgrades
	Published   int64 // messages published through this node
	PollsParked int64 // long-polls parked since start
	Streams     int64 // SSE, chunked and iframe streams opened since start
	Delivered   int64 // message deliveries written to sockets
	Resyncs     int64 // subscriptions joined again after a gap or a page of history
	Panics      int64 // recovered panics (each closed one connection)
	AcceptErrs  int64 // failed accepts (out of file descriptors)
	// Open counts open connections by transport name.
	Open map[string]int64
	// Closed counts closed connections by reason name.
	Closed map[string]int64
	// Refused counts connections refused at admission, by reason.
	Refused map[string]int64
}

// Stats returns a snapshot of the server's counters. Any goroutine.
func (s *Server) Stats() Stats {
	st := Stats{
		Published:   s.stats.published.Load(),
		PollsParked: s.stats.pollsParked.Load(),
		Streams:     s.stats.streams.Load(),
		Resyncs:     s.stats.resyncs.Load(),
		Panics:      s.stats.panics.Load(),
		AcceptErrs:  s.stats.acceptErrs.Load(),
		Open:        make(map[string]int64),
		Closed:      make(map[string]int64),
		Refused:     make(map[string]int64),
	}
	for _, l := range *s.loops.Load() {
		ls := &l.stats
		st.Accepted += ls.accepted.load()
		st.Requests += ls.requests.load()
		st.Upgrades += ls.upgrades.load()
		st.Delivered += ls.delivered.load()
		for k := range ls.open {
			if n := ls.open[k].load(); n != 0 {
				st.Open[transports[k].name] += n
				st.Connections += n
				if kind(k).isWebSocket() {
					st.WebSockets += n
				}
			}
		}
		for r := range ls.closed {
			if n := ls.closed[r].load(); n > 0 {
				st.Closed[conn.Reason(r).String()] += n
			}
		}
		for r := range ls.refused {
			if n := ls.refused[r].load(); n > 0 {
				st.Refused[refusalNames[r]] += n
			}
		}
	}
	return st
}

// setKind moves s to transport k, keeping the open-connection counts by
// transport right.
func (s *session) setKind(k kind) {
	if s.kind == k {
		return
	}
	l := s.loop
	l.stats.open[s.kind].add(-1)
	l.stats.open[k].add(1)
	s.kind = k
}
