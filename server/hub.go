package server

import "hash/maphash"

// The loop's hub: for each channel with local subscribers, the list of
// them (the fan-out that writes a message to all of them is fanout.go).

// localChannel lists this loop's subscribers of one channel. The local
// channel of the loop whose join made the node's interest in the channel
// holds that interest too (interests.add), so a channel one loop serves
// is one record, with its name stored once; other loops' local channels,
// and this loop's when it comes back while the interest lingers, use the
// interest through it, and of their own only the name.
type localChannel struct {
	interest
	it   *interest // the node's interest: &lc.interest, or another loop's
	subs []localSub
	// batchGen and batchAt group a drain's messages by channel (cork.go).
	batchGen uint32
	batchAt  int32
}

// localSub is one subscription; ref indexes the matching entry in s.subs.
type localSub struct {
	s   *session
	ref int32
}

// sessionSub is one of a session's subscriptions; pos indexes lc.subs.
// epoch and seq are the position the client has: the last publication
// written to it (for a parked poll, acknowledged by its cursor). They are
// what de-duplicates live messages against replays, and what cursors say.
type sessionSub struct {
	lc    *localChannel
	epoch string
	seq   uint64
	join  *joinWait // non-nil while a join waits for the engine
	pos   int32
	// gapMissed says, in its top bit, that history did not reach back to
	// the requested position, and in the others what it no longer held
	// (0: unknown, the epoch changed); told once, in the next poll answer
	// or open event. One word, not a bool and a count: the entry is 48
	// bytes, a size class below 56.
	gapMissed uint32
}

const gapBit = 1 << 31

// gap reports whether history did not reach back to the requested position.
func (ss *sessionSub) gap() bool { return ss.gapMissed&gapBit != 0 }

// missed is what history no longer held, with gap (0: unknown).
func (ss *sessionSub) missed() uint64 { return uint64(ss.gapMissed &^ gapBit) }

// setGap records the join's gap and what it missed (capped at 2^31-1).
func (ss *sessionSub) setGap(gap bool, missed uint64) {
	ss.gapMissed = uint32(min(missed, gapBit-1))
	if gap {
		ss.gapMissed |= gapBit
	}
}

// joinWait holds the live messages that arrive while a subscription waits
// for the engine's answer: they are written after the replay, de-duplicated
// by seq. Bounded: past the bound the join reads history again instead.
type joinWait struct {
	held     []*message
	overflow bool
}

// maxHeld bounds the messages a join holds.
const maxHeld = 1024

func (w *joinWait) hold(m *message) {
	if len(w.held) >= maxHeld {
		w.overflow = true
		return
	}
	w.held = append(w.held, m)
}

// subscribe adds a subscription of s to channel name (not yet delivered
// to: the caller joins it) and returns its index in s.subs, the node's
// interest, and whether that interest is new (the join subscribes at the
// engine). name may alias request bytes: it is copied when kept.
func (l *loop) subscribe(s *session, name string) (int, *interest, bool) {
	lc := l.hub.get(name)
	created := false
	if lc == nil {
		var rec *localChannel
		rec, created = l.srv.interest.add(name, l.bit)
		lc = rec
		if !created {
			// rec may be another loop's, or this loop's that it left: a
			// local channel of our own, sharing rec's interest and name.
			lc = &localChannel{interest: interest{name: rec.name}, it: rec.it}
		}
		l.hub.add(lc)
	}
	s.subs = append(s.subs, sessionSub{lc: lc, pos: int32(len(lc.subs))})
	lc.subs = append(lc.subs, localSub{s: s, ref: int32(len(s.subs) - 1)})
	l.stats.subscriptions.add(1)
	return len(s.subs) - 1, lc.it, created
}

// unsubscribe removes the i-th subscription of s in O(1).
func (l *loop) unsubscribe(s *session, i int) {
	ss := s.subs[i]
	lc := ss.lc
	// Swap-remove from the channel's list, fixing the moved entry's back
	// reference in its session.
	last := len(lc.subs) - 1
	if int(ss.pos) != last {
		moved := lc.subs[last]
		lc.subs[ss.pos] = moved
		moved.s.subs[moved.ref].pos = ss.pos
	}
	lc.subs[last] = localSub{}
	lc.subs = lc.subs[:last]
	// Swap-remove from the session's list likewise.
	lastS := len(s.subs) - 1
	if i != lastS {
		moved := s.subs[lastS]
		s.subs[i] = moved
		moved.lc.subs[moved.pos].ref = int32(i)
	}
	s.subs[lastS] = sessionSub{}
	s.subs = s.subs[:lastS]
	l.stats.subscriptions.add(-1)

	if len(lc.subs) == 0 {
		l.hub.remove(lc.name)
		l.srv.interest.remove(lc.it, l.bit, l.nowMillis())
	}
	if ss.join == nil {
		s.presenceLeft(lc.name)
	}
}

// subIndex returns the index of s's subscription to channel name, or -1.
func (s *session) subIndex(name string) int {
	for i := range s.subs {
		if s.subs[i].lc.name == name {
			return i
		}
	}
	return -1
}

// channelsByName is a loop's hub: its channels with local subscribers, by
// name, on the same index the node's interest uses (chan_index.go): a
// Go map of names to pointers cost ~42 bytes a channel and as much again
// in the tables it left behind while it grew. Loop-owned.
type channelsByName struct{ chanIndex }

func newChannelsByName() channelsByName {
	return channelsByName{chanIndex{seed: maphash.MakeSeed()}}
}

// get returns channel name's record, or nil.
func (h *channelsByName) get(name string) *localChannel {
	return h.find(name, maphash.String(h.seed, name))
}

// add adds lc, whose name the hub does not hold.
func (h *channelsByName) add(lc *localChannel) { h.insert(lc, maphash.String(h.seed, lc.name)) }

// remove removes channel name, if the hub holds it, and gives back the
// index's memory once it is a quarter full.
func (h *channelsByName) remove(name string) {
	if p := h.lookup(name, maphash.String(h.seed, name)); p >= 0 {
		h.removeAt(p)
		h.shrink()
	}
}

// all returns the records, in no order; the caller must not add or
// remove while it walks them.
func (h *channelsByName) all() []*localChannel { return h.m }
