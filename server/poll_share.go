package server

import (
	"hash/maphash"

	"github.com/comet-im/comet/conn"
)

// Shared poll answers. When a drain wakes parked polls, those that stood
// at the same positions need the same answer: the body is a function of
// the positions (each channel's name, epoch, seq, gap and missed count),
// the drain's messages and the batch limits, all shared, and of the
// publications the poll's own connection sent without echo, which it
// skips. So the body is built once per group of polls with equal
// positions and none of their own messages in the batch, and each poll
// writes it behind its own header block (status, Content-Length, CORS,
// keep-alive or Connection: close). A broadcast to 10,000 parked polls
// builds one body, not 10,000.

// pollShare is one drain's shared answers: each group's positions (the
// key, copied before the answer moves them) and its body, back to back
// in keys and bodies.
type pollShare struct {
	keys   []pollPos
	bodies []byte
	groups []pollGroup
	byHash map[uint64]int32 // key hash -> index in groups
	last   int32            // the group the previous poll used, -1 if none
}

// pollGroup locates one group's key in keys and body in bodies.
type pollGroup struct {
	keyAt, keyN   int32
	bodyAt, bodyN int32
}

// maxShareBytes bounds what one drain keeps of built bodies: past it, a
// poll with positions no group has yet is built alone, as if unshared.
const maxShareBytes = 1 << 20

// shareSeed seeds the key hashes; collisions are resolved by comparing
// keys, so its only job is to spread them.
var shareSeed = maphash.MakeSeed()

// answerReadyPolls answers the polls that got messages in this batch,
// sharing one built body among those that need exactly the same one.
func (l *loop) answerReadyPolls(batch []*message) {
	if len(l.readyPolls) == 0 {
		return
	}
	// The loop's own, so nothing is allocated in steady state; reset on
	// the way in too, since a panic while answering would leave the last
	// drain's bodies in it.
	sh := &l.pollShare
	if sh.byHash == nil {
		sh.byHash = make(map[uint64]int32)
	}
	sh.reset()
	sh.last = -1
	for i, s := range l.readyPolls {
		if s.http != nil && s.http.ready && !s.isGone() && s.State() == conn.StateParked {
			l.wheel.Cancel(&s.timer)
			s.answerReadyPoll(sh, batch)
		}
		l.readyPolls[i] = nil
	}
	l.readyPolls = l.readyPolls[:0]
	sh.reset()
}

// answerReadyPoll answers parked poll s woken by batch: with its group's
// body, built now if it is the group's first poll.
func (s *session) answerReadyPoll(sh *pollShare, batch []*message) {
	l := s.loop
	l.pollPos = s.appendSubPositions(l.pollPos[:0])
	if s.ownsAny(batch) {
		// Its answer skips its own messages: one of a kind.
		s.dropSubscriptions()
		s.answerPoll(l.pollPos, batch)
		return
	}
	g := sh.find(l.pollPos)
	if g < 0 && len(sh.bodies) < maxShareBytes {
		g = sh.add(l.pollPos)
		sh.bodies = s.appendPollBody(sh.bodies, l.pollPos, batch)
		sh.groups[g].bodyN = int32(len(sh.bodies)) - sh.groups[g].bodyAt
	}
	s.dropSubscriptions()
	if g < 0 {
		s.answerPoll(l.pollPos, batch)
		return
	}
	sh.last = g
	gr := &sh.groups[g]
	s.respondJSON(200, sh.bodies[gr.bodyAt:gr.bodyAt+gr.bodyN], true)
}

// ownsAny reports whether s published one of msgs without asking for it
// back: its answer then differs from its group's.
func (s *session) ownsAny(msgs []*message) bool {
	if s.who == nil || s.who.conn == "" {
		return false
	}
	for _, m := range msgs {
		if s.own(m) {
			return true
		}
	}
	return false
}

// find returns the group whose key equals pos, or -1: the previous poll's
// group first (a broadcast wakes runs of equal polls), then by hash.
func (sh *pollShare) find(pos []pollPos) int32 {
	if sh.last >= 0 && sh.keyEqual(sh.last, pos) {
		return sh.last
	}
	if len(sh.groups) == 0 {
		return -1
	}
	g, ok := sh.byHash[hashPositions(pos)]
	if !ok || !sh.keyEqual(g, pos) {
		return -1 // none, or a hash collision: built alone
	}
	return g
}

// add starts a group keyed by pos; its body follows in bodies.
func (sh *pollShare) add(pos []pollPos) int32 {
	h := hashPositions(pos)
	g := int32(len(sh.groups))
	sh.groups = append(sh.groups, pollGroup{keyAt: int32(len(sh.keys)), keyN: int32(len(pos)), bodyAt: int32(len(sh.bodies))})
	sh.keys = append(sh.keys, pos...)
	if _, taken := sh.byHash[h]; !taken {
		sh.byHash[h] = g
	}
	return g
}

func (sh *pollShare) keyEqual(g int32, pos []pollPos) bool {
	gr := &sh.groups[g]
	if int(gr.keyN) != len(pos) {
		return false
	}
	for i, k := range sh.keys[gr.keyAt : gr.keyAt+gr.keyN] {
		if k != pos[i] {
			return false
		}
	}
	return true
}

// reset empties sh for the next drain, keeping its buffers and dropping
// its references to channel names and epochs.
func (sh *pollShare) reset() {
	clear(sh.keys)
	sh.keys = sh.keys[:0]
	sh.groups = sh.groups[:0]
	clear(sh.byHash)
	if cap(sh.bodies) > 2*maxShareBytes {
		sh.bodies = nil // a rare huge body: let it go
	} else {
		sh.bodies = sh.bodies[:0]
	}
}

// hashPositions hashes a poll's positions, every field of them.
func hashPositions(pos []pollPos) uint64 {
	h := uint64(len(pos))
	for i := range pos {
		p := &pos[i]
		h = h*0x9E3779B97F4A7C15 ^ maphash.String(shareSeed, p.name)
		h = h*0x9E3779B97F4A7C15 ^ maphash.String(shareSeed, p.epoch)
		h = h*0x9E3779B97F4A7C15 ^ p.seq ^ p.missed<<1
		if p.gap {
			h ^= 1
		}
	}
	return h
}
