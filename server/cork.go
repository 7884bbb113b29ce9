package server

import "github.com/comet-im/comet/protocol"

// Coalesced writes (issue 15). When several messages of one channel come
// in one drain of the mailbox (a busy room: publishes that arrived
// together), each subscriber gets them in one writev instead of one
// write(2) per message: the kernel's per-call cost, most of a delivery's
// time, is paid once per subscriber per batch. Nothing waits to fill a
// batch: a drain delivers what is already there, so an idle loop adds no
// latency, and a message alone in its drain takes the direct path. Order
// per channel is kept; the outbound budget applies to the whole batch
// (checked after the writev).
//
// While the loop corks a session (l.cork), everything the fan-out would
// write to it is queued instead: shared bytes as they are, per-session
// bytes (SSE id lines, iframe scripts, epoch events) copied into the
// loop's arena, since the scratch they are built in is reused by the next
// message.

// corkPart is one piece of a corked session's output: shared bytes, or a
// range of the loop's arena.
type corkPart struct {
	shared   []byte
	off, end int
}

// maxCorkParts bounds one writev (the kernel's IOV_MAX is 1024). A run
// of corkRun messages queues at most three parts each (an SSE id line, an
// epoch event, the shared event), so one writev per run always holds it.
const maxCorkParts = 512

var _ [maxCorkParts - 3*corkRun]struct{} // compile-time: 3*corkRun <= maxCorkParts

// corkRun is the most messages of one channel written to one subscriber
// before the next subscriber gets its share. Without it, a drain of a
// thousand messages would reach the last of a thousand subscribers only
// after the first 999 had all of them (seconds on a busy machine, and a
// client's read timeout). A turn is what every other subscriber waits
// between two of its writes, so it is kept short; one writev of 16
// messages already pays the kernel's per-call cost once instead of 16
// times.
const corkRun = 16

// corkFor starts queueing s's writes for one writev, unless a caller
// already corks (that caller uncorks); it reports whether it corked, and
// then its caller calls uncork.
func (l *loop) corkFor(s *session) bool {
	if l.cork != nil {
		return false
	}
	l.cork = s
	return true
}

// emit hands shared bytes to s's socket, or queues them while s is
// corked. It takes the loop (s.loop) from its caller: the fan-out has it
// at hand, and reading it from the session costs a cache line per
// subscriber.
func (l *loop) emit(s *session, b []byte) {
	if l.cork == s {
		l.queue(b)
		return
	}
	l.stats.wrote(len(b))
	_, _ = s.gc.Write(b)
}

// queue adds shared bytes to the corked session's writev.
func (l *loop) queue(b []byte) {
	l.stats.wrote(len(b))
	l.corkParts = append(l.corkParts, corkPart{shared: b})
}

// emitCopy is emit for bytes in loop scratch: corked, they are copied.
func (l *loop) emitCopy(s *session, b []byte) {
	l.stats.wrote(len(b))
	if l.cork != s {
		_, _ = s.gc.Write(b) // emit's, without a second call
		return
	}
	off := len(l.arena)
	l.arena = append(l.arena, b...)
	l.corkParts = append(l.corkParts, corkPart{off: off, end: len(l.arena)})
}

// uncork writes what the corked session has queued, in one writev.
func (l *loop) uncork() {
	s := l.cork
	l.cork = nil
	if len(l.corkParts) == 0 {
		return
	}
	iov := l.corkIov[:0]
	for _, p := range l.corkParts {
		if p.shared != nil {
			iov = append(iov, p.shared)
		} else {
			iov = append(iov, l.arena[p.off:p.end])
		}
	}
	if !s.isGone() {
		_, _ = s.gc.Writev(iov)
	}
	clear(iov)
	clear(l.corkParts)
	l.corkIov, l.corkParts, l.arena = iov[:0], l.corkParts[:0], l.arena[:0]
	if cap(l.arena) > 1<<20 {
		l.arena = nil // a burst of large per-session lines: do not keep it
	}
}

// shareWrites bounds one drain task's fan-out, in socket writes (a write
// or a writev to one subscriber, a poll answered): about 16 to 100 ms of
// a loop's time on this class of machine. A drain of a thousand messages
// to a thousand subscribers is then many tasks, and between two of them
// the loop reads its sockets and flushes, through EPOLLOUT, what a
// subscriber's kernel buffer did not take; in one task it did neither for
// seconds, and a subscriber whose buffer had filled got nothing until the
// end (the stall issue 15 saw under load).
const shareWrites = 16384

// fanOutShare returns how many of batch's first messages one drain task
// delivers: as many as fit in shareWrites, counted the way deliverBatch
// writes them (a channel's run of corkRun messages is one writev per
// subscriber), and always at least one.
func (l *loop) fanOutShare(batch []*message) int {
	if len(batch) <= 1 {
		return len(batch)
	}
	l.batchGen++
	writes := 0
	for i, m := range batch {
		cost := 1
		if lc := l.hub.get(m.pub.Channel); lc != nil {
			if lc.batchGen != l.batchGen {
				lc.batchGen, lc.batchAt = l.batchGen, 0
			}
			if lc.batchAt%corkRun == 0 { // the first of a run
				cost = max(1, len(lc.subs))
			} else {
				cost = 0
			}
			lc.batchAt++
		}
		if cost > 0 && writes+cost > shareWrites && i > 0 {
			return i
		}
		writes += cost
	}
	return len(batch)
}

// msgGroup is the messages of one channel in one drain.
type msgGroup struct {
	lc       *localChannel
	start, n int
}

// deliverBatch delivers a drain's messages, grouped by channel (each
// channel's in order): a channel with one message takes the direct path,
// one with several is written to each subscriber in one writev.
func (l *loop) deliverBatch(batch []*message) {
	if len(batch) == 1 {
		l.deliver(batch[0])
		return
	}
	l.batchGen++
	groups := l.groups[:0]
	lcs := l.batchLC[:0]
	for _, m := range batch {
		lc := l.hub.get(m.pub.Channel)
		lcs = append(lcs, lc)
		if lc == nil {
			continue
		}
		if lc.batchGen != l.batchGen {
			lc.batchGen, lc.batchAt = l.batchGen, int32(len(groups))
			groups = append(groups, msgGroup{lc: lc})
		}
		groups[lc.batchAt].n++
	}
	off := 0
	for i := range groups {
		groups[i].start, off = off, off+groups[i].n
		groups[i].n = 0
	}
	flat := l.batchFlat[:0]
	flat = append(flat, make([]*message, off)...)
	for i, m := range batch {
		if lc := lcs[i]; lc != nil {
			g := &groups[lc.batchAt]
			flat[g.start+g.n] = m
			g.n++
		}
	}
	for _, g := range groups {
		if g.n == 1 {
			l.deliver(flat[g.start])
			continue
		}
		for run := flat[g.start : g.start+g.n]; len(run) > 0; {
			k := min(len(run), corkRun)
			l.deliverMany(g.lc, run[:k])
			run = run[k:]
		}
	}
	clear(flat)
	clear(lcs)
	clear(groups)
	l.batchFlat, l.batchLC, l.groups = flat[:0], lcs[:0], groups[:0]
}

// deliverMany writes several messages of one channel to each of its local
// subscribers, one writev per subscriber.
func (l *loop) deliverMany(lc *localChannel, msgs []*message) {
	written, budget := 0, l.budget()
	for i := 0; i < len(lc.subs); {
		s := lc.subs[i].s
		ss := &s.subs[lc.subs[i].ref]
		switch {
		case ss.join != nil:
			for _, m := range msgs {
				ss.join.hold(m)
			}
		case s.kind == kindPoll:
			s.markReady()
		default:
			corked := l.corkFor(s)
			for _, m := range msgs {
				if !l.offer(s, ss, m, &written) {
					break // a gap: the resync reads the rest
				}
			}
			if corked {
				l.uncork()
			}
		}
		if s.pastBudget(budget) {
			l.slow = append(l.slow, s)
		}
		// A failed write closes the connection at once (OnClose from inside
		// Writev swap-removes s from lc.subs): see deliver.
		if i < len(lc.subs) && lc.subs[i].s == s {
			i++
		}
	}
	l.stats.delivered.add(int64(written))
	for range msgs {
		l.stats.publishSent()
	}
	l.afterDelivery()
}

// offer gives one live message to a streaming subscription: written,
// passed (its own), skipped, or a gap noted. false after a gap.
func (l *loop) offer(s *session, ss *sessionSub, m *message, written *int) bool {
	switch {
	case m.pub.Seq == 0: // ephemeral: live only, no position
		if !s.own(m) {
			s.transport().write(l, s, m)
			*written++
		}
	case s.own(m):
		s.pass(ss, m)
	default:
		switch s.take(ss, m) {
		case protocol.LiveDeliver, protocol.LiveAdopt:
			*written++
		case protocol.LiveGap:
			l.gaps = append(l.gaps, gapAt{s, ss.lc.name})
			return false
		}
	}
	return true
}
