package server

import (
	"sync/atomic"

	"github.com/comet-im/comet/conn"
)

// Counting stays off the hot path: every loop counts its own events in
// counters only it writes (a load and a store, no locked read-modify-write
// and no shared cache line between loops), and Stats sums them when
// somebody asks (a Prometheus scrape, the dashboard feed). Bytes sent are
// added to a plain loop-owned total and published to their counter once
// per delivery batch and once per tick, so a delivery costs one add to
// memory the loop already owns. Node-wide counters for rarer
// events (publishes, parked polls, reloads) are atomics.

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
	// closedBy counts closes by the transport the connection spoke when
	// it closed, and why.
	closedBy [kindCount][conn.ReasonCount]counter
	// bytesIn counts bytes consumed from sockets.
	bytesIn counter
	// sent is the running total of bytes handed to sockets: loop-owned
	// and plain, so that a delivery adds to it for nothing; bytesOut is
	// its published copy (publishSent).
	sent     int64
	bytesOut counter
	// subscriptions counts the loop's subscriptions (sessions × channels).
	subscriptions counter
}

// wrote counts n bytes handed to a socket. It is a plain add to the
// loop's own total, on the fan-out's path as much as for replies; the
// total becomes visible to Stats at publishSent (the end of a delivery
// batch, and every tick), so a scrape lags by at most one tick.
func (ls *loopStats) wrote(n int) { ls.sent += int64(n) }

// publishSent makes the bytes counted so far visible to Stats.
func (ls *loopStats) publishSent() { ls.bytesOut.v.Store(ls.sent) }

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
	// calls times the engine calls and connect hook calls, by op
	// (stats_latency.go).
	calls [maxOps]latency
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

	// BytesIn and BytesOut count bytes read from and handed to client
	// sockets (HTTP heads and bodies, frames, deliveries).
	BytesIn, BytesOut int64
	// Subscriptions is the number of subscriptions held now (a connection
	// on three channels holds three).
	Subscriptions int64
	// Channels is the number of channels with a subscriber on this node;
	// LingeringChannels those the node still holds at the engine after
	// their last subscriber left (Config.InterestLinger).
	Channels, LingeringChannels int64
	// ClosedBy counts closed connections by transport name, then reason.
	ClosedBy map[string]map[string]int64
	// CloseCodes counts the WebSocket close codes the node sent, by code.
	CloseCodes map[int]int64
	// PresenceDropped counts presence updates dropped for a full queue.
	PresenceDropped int64
	// Reloads counts configurations applied by Reload.
	Reloads int64
	// Ready is Server.Ready; Draining is true once Shutdown began.
	Ready, Draining bool
	// Latency holds the duration of engine and connect hook calls, by op:
	// "publish", "read", "join", "presence", "auth" (stats_latency.go).
	Latency map[string]Histogram
}

// Stats returns a snapshot of the server's counters. Any goroutine.
func (s *Server) Stats() Stats {
	st := Stats{
		Published:       s.stats.published.Load(),
		PollsParked:     s.stats.pollsParked.Load(),
		Streams:         s.stats.streams.Load(),
		Resyncs:         s.stats.resyncs.Load(),
		Panics:          s.stats.panics.Load(),
		AcceptErrs:      s.stats.acceptErrs.Load(),
		PresenceDropped: s.stats.presenceDropped.Load(),
		Reloads:         s.stats.reloads.Load(),
		Ready:           s.Ready(),
		Draining:        s.draining.Load(),
		Open:            make(map[string]int64),
		Closed:          make(map[string]int64),
		Refused:         make(map[string]int64),
		ClosedBy:        make(map[string]map[string]int64),
		CloseCodes:      make(map[int]int64),
		Latency:         s.stats.latencies(),
	}
	st.Channels, st.LingeringChannels = s.interest.count()
	for _, l := range *s.loops.Load() {
		ls := &l.stats
		st.Accepted += ls.accepted.load()
		st.Requests += ls.requests.load()
		st.Upgrades += ls.upgrades.load()
		st.Delivered += ls.delivered.load()
		st.BytesIn += ls.bytesIn.load()
		st.BytesOut += ls.bytesOut.load()
		st.Subscriptions += ls.subscriptions.load()
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
		st.addClosedBy(ls)
	}
	return st
}

// addClosedBy adds one loop's closes by transport and reason, and the
// close codes they sent.
func (st *Stats) addClosedBy(ls *loopStats) {
	for k := range ls.closedBy {
		for r := range ls.closedBy[k] {
			n := ls.closedBy[k][r].load()
			if n <= 0 {
				continue
			}
			name := transports[k].name
			byReason := st.ClosedBy[name]
			if byReason == nil {
				byReason = make(map[string]int64)
				st.ClosedBy[name] = byReason
			}
			reason := conn.Reason(r)
			byReason[reason.String()] += n
			// A WebSocket that ends for any reason but its peer's
			// vanishing got a close frame from the node.
			if kind(k).isWebSocket() && reason != conn.ReasonPeerClosed && reason != conn.ReasonNone {
				st.CloseCodes[int(reason.WSCode())] += n
			}
		}
	}
}

// Transports lists the transport names that Stats.Open and
// Stats.ClosedBy use, so that a metrics exporter can report zeros.
func Transports() []string {
	names := make([]string, kindCount)
	for k := range transports {
		names[k] = transports[k].name
	}
	return names
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

// RefusalReasons lists the reason names of Stats.Refused.
func RefusalReasons() []string { return append([]string(nil), refusalNames[:]...) }
