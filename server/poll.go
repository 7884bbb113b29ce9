package server

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// GET /poll (docs/PROTOCOL.md). A poll first reads history after its
// positions (opRead): when there is something to say, or wait=0, it
// answers at once and never subscribes, so short and busy long polls cost
// no subscription. Otherwise it joins its channels from the positions it
// read (opJoin) and parks until a message arrives or its hold ends. The
// cursor in every answer is the acknowledgement: a message published
// between two polls is in the next answer, from history.

// pollPos is one channel's position while a poll answer is built.
type pollPos struct {
	name  string
	epoch string
	seq   uint64
	gap   bool // history did not reach back to the requested position
	// missed counts what history no longer held, when known.
	missed uint64
}

// poll serves GET /poll.
func (s *session) poll(env *conn.Env, req *codec.Request) {
	origin, ok := s.corsOrigin(req)
	if !ok {
		s.Reject(env, 403, nil)
		return
	}
	wait, err := s.pollWait(req)
	if err != nil {
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", protocol.ErrBadWait))
		return
	}
	positions, perr := s.requestPositions(req, nil)
	if perr != nil {
		s.Respond(env, 400, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", requestError(perr)))
		return
	}
	st := s.beginHTTP(req, origin)
	st.wait = wait
	r := s.newRequest(opRead)
	r.limit = s.loop.srv.conf().PollBatch
	for _, p := range positions {
		c := r.addChan(s.loop.name(p.Channel))
		c.since = broker.Position{Epoch: s.loop.name(p.Epoch), Seq: p.Seq}
		c.hasSince = p.HasSince
	}
	if err := s.requestSubTokens(req, r); err != nil {
		s.loop.release(r)
		e := authError(err)
		s.Respond(env, e.Code, jsonType, s.corsHeaders(origin), protocol.AppendError(nil, "", e))
		return
	}
	s.park(kindPoll)
	s.admit(req, "poll", r)
}

// name returns b as a string for an engine call: a view of the request's
// bytes when the engine answers at once (no copy, no allocation), else a
// copy that outlives them.
func (l *loop) name(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if l.srv.inline {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(b)
}

// onRead resumes a poll after its history read: answer now, or join and
// park.
func (s *session) onRead(r *request) {
	l := s.loop
	if len(r.chans) == 0 {
		s.respondJSON(400, protocol.AppendError(s.scratch(), "", protocol.ErrNoChannels), true)
		return
	}
	pending := s.http.wait == 0
	for i := range r.chans {
		c := &r.chans[i]
		if c.err != nil {
			e := engineError(c.err)
			s.respondJSON(e.Code, protocol.AppendError(s.scratch(), "", e), true)
			return
		}
		pending = pending || len(c.pubs) > 0 || (c.hasSince && !c.rec.Recovered)
	}
	if pending {
		l.pollPos = l.pollPos[:0]
		for i := range r.chans {
			c := &r.chans[i]
			l.pollPos = append(l.pollPos, pollPos{name: c.name, epoch: s.streamEpoch(c.st),
				seq: c.rec.After, gap: c.hasSince && !c.rec.Recovered, missed: c.rec.Missed})
			for _, p := range c.pubs {
				l.replay = append(l.replay, messageOf(p))
			}
		}
		s.answerPoll(l.pollPos, l.replay)
		clear(l.replay)
		l.replay = l.replay[:0]
		return
	}
	if s.parkFromRead(r) {
		return
	}
	// Nothing yet: join from the positions just read. A message that came
	// in since is in the join's replay, and answers at once.
	j := s.newRequest(opJoin)
	j.limit = l.srv.conf().PollBatch
	for i := range r.chans {
		c := &r.chans[i]
		s.addJoin(j, c.name, broker.Position{Epoch: s.streamEpoch(c.st), Seq: c.rec.After}, true)
	}
	s.submit(j)
}

// parkFromRead parks a poll that found nothing on channels this loop
// already serves, at the positions it just read, without asking the
// engine again. That is safe when the engine answers inline: the read
// and this join run in one task of the loop, and the loop's local
// channel (with its node interest, active since the join that made it)
// stood all along, so every publication after the read reaches the
// loop's mailbox and is delivered after this subscription is in. A
// remote engine's read completes later, after publications the loop
// may already have delivered: those polls join through the engine.
func (s *session) parkFromRead(r *request) bool {
	l := s.loop
	if !l.srv.inline {
		return false
	}
	for i := range r.chans {
		if lc := l.hub.get(r.chans[i].name); lc == nil || len(lc.subs) == 0 {
			return false
		}
	}
	for i := range r.chans {
		c := &r.chans[i]
		j, _, _ := l.subscribe(s, c.name) // the local channel stands: no new interest
		ss := &s.subs[j]
		ss.epoch, ss.seq = s.streamEpoch(c.st), c.rec.After // nothing pending: recovered, no gap
	}
	s.arm(phaseHold, s.http.wait)
	l.srv.stats.pollsParked.Add(1)
	return true
}

// streamEpoch is the epoch a cursor names for a stream: its own, or an
// empty epoch when the channel has none.
func (s *session) streamEpoch(st broker.StreamState) string {
	if st.Epoch != "" {
		return st.Epoch
	}
	l := s.loop
	l.epoch = protocol.AppendEmptyEpoch(l.epoch[:0], l.nowMillis())
	return string(l.epoch)
}

// onPollJoined parks the poll, or answers it when the join found messages.
func (s *session) onPollJoined(r *request) {
	l := s.loop
	answer := false
	for i := range r.chans {
		c := &r.chans[i]
		j, held, err := s.applyJoin(c)
		if err != nil {
			clear(l.replay)
			l.replay = l.replay[:0]
			s.dropSubscriptions()
			e := engineError(err)
			s.respondJSON(e.Code, protocol.AppendError(s.scratch(), "", e), true)
			return
		}
		if j >= 0 {
			l.collectReplay(c, held)
			answer = answer || s.subs[j].gap()
		}
	}
	if answer || len(l.replay) > 0 || l.replayOverflow {
		l.replayOverflow = false
		s.answerSubscribedPoll(l.replay)
		clear(l.replay)
		l.replay = l.replay[:0]
		return
	}
	s.arm(phaseHold, s.http.wait)
	l.srv.stats.pollsParked.Add(1)
}

// markReady notes that a parked poll got a message: it is answered once
// the whole drain batch is in.
func (s *session) markReady() {
	if s.http != nil && !s.http.ready && s.State() == conn.StateParked {
		s.http.ready = true
		s.loop.readyPolls = append(s.loop.readyPolls, s)
	}
}

// finishPoll answers a parked poll with what it has (the hold ended, or
// the node drains).
func (s *session) finishPoll() {
	s.loop.wheel.Cancel(&s.timer)
	s.answerSubscribedPoll(nil)
}

// answerSubscribedPoll answers a parked poll from its subscriptions'
// positions and msgs, then leaves its channels.
func (s *session) answerSubscribedPoll(msgs []*message) {
	l := s.loop
	l.pollPos = s.appendSubPositions(l.pollPos[:0])
	s.dropSubscriptions()
	s.answerPoll(l.pollPos, msgs)
}

// appendSubPositions appends the positions of s's subscriptions: where a
// parked poll's answer starts.
func (s *session) appendSubPositions(dst []pollPos) []pollPos {
	for i := range s.subs {
		ss := &s.subs[i]
		dst = append(dst, pollPos{name: ss.lc.name, epoch: ss.epoch, seq: ss.seq, gap: ss.gap(), missed: ss.missed()})
	}
	return dst
}

// answerPoll writes a poll's answer (appendPollBody).
func (s *session) answerPoll(positions []pollPos, msgs []*message) {
	l := s.loop
	l.body = s.appendPollBody(l.body[:0], positions, msgs)
	s.respondJSON(200, l.body, true)
}

// appendPollBody appends a poll answer's body to dst: the messages of
// msgs each position takes next (in order, de-duplicated by seq, stopping
// at a gap or the batch limits), the gaps, and the cursor after them. It
// moves positions past what it takes. What it appends depends on
// positions, msgs, the batch limits and s's own publications only
// (poll_share.go relies on it).
func (s *session) appendPollBody(dst []byte, positions []pollPos, msgs []*message) []byte {
	l, srv := s.loop, s.loop.srv
	out := append(l.scratch[:0], `,"msgs":[`...)
	n := 0
	for _, m := range msgs {
		if n >= srv.conf().PollBatch || (n > 0 && len(out)+len(m.json) > srv.conf().MaxOutboundBytes-closeReserve) {
			break // the cursor stops here; the next poll continues
		}
		pp := positionOf(positions, m.pub.Channel)
		if pp == nil {
			continue
		}
		if m.pub.Seq != 0 {
			switch protocol.LiveStep(pp.epoch, pp.seq, m.pub) {
			case protocol.LiveDeliver, protocol.LiveAdopt: // the cursor carries the epoch
				pp.epoch, pp.seq = m.pub.Epoch, m.pub.Seq
			default:
				continue // a duplicate, or past a gap the next poll recovers
			}
		}
		if s.own(m) {
			continue // its own publication: the cursor moved past it
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, m.json...)
		n++
	}
	out = append(out, ']')
	out = appendGaps(out, positions)
	l.scratch = out

	dst = append(dst, `{"cursor":"`...)
	for i := range positions {
		if i > 0 {
			dst = append(dst, protocol.CursorSep)
		}
		dst = protocol.AppendPosition(dst, positions[i].name, positions[i].epoch, positions[i].seq)
	}
	dst = append(dst, '"')
	dst = append(dst, out...)
	return append(dst, '}')
}

func positionOf(positions []pollPos, name string) *pollPos {
	for i := range positions {
		if positions[i].name == name {
			return &positions[i]
		}
	}
	return nil
}

// appendGaps appends ,"gap":[...] naming the channels whose history did
// not reach back, if any.
func appendGaps(dst []byte, positions []pollPos) []byte {
	first := true
	for _, p := range positions {
		if !p.gap {
			continue
		}
		if first {
			dst = append(dst, `,"gap":[`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p.name...)
		dst = append(dst, '"')
	}
	if first {
		return dst
	}
	dst = append(dst, ']')
	first = true
	for _, p := range positions {
		if !p.gap || p.missed == 0 {
			continue
		}
		if first {
			dst = append(dst, `,"missed":{`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p.name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, p.missed, 10)
	}
	if !first {
		dst = append(dst, '}')
	}
	return dst
}

// maxWaitSeconds bounds the wait parameter before it is turned into a
// duration, so that no value overflows.
const maxWaitSeconds = 1 << 20

// pollWait returns the hold time a poll asks for, capped by PollHold.
func (s *session) pollWait(req *codec.Request) (time.Duration, error) {
	cfg := &s.loop.srv.conf().Config
	v, ok, err := req.QueryValue(s.loop.scratch[:0], "wait")
	if err != nil {
		return 0, err
	}
	if !ok {
		return cfg.PollHold, nil
	}
	if len(v) == 0 || len(v) > 7 {
		if len(v) > 7 && allDigits(v) {
			return cfg.PollHold, nil // a huge wait is the longest hold
		}
		return 0, protocol.ErrBadWait
	}
	secs, err := strconv.Atoi(string(v))
	if err != nil || secs < 0 {
		return 0, protocol.ErrBadWait
	}
	return min(time.Duration(min(secs, maxWaitSeconds))*time.Second, cfg.PollHold), nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
