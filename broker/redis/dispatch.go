package redis

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/comet-im/comet/broker"
)

// Delivery. Every event about a channel goes to the one dispatcher the
// channel hashes to, through a bounded queue, and the dispatcher's
// goroutine alone runs the channel's delivery state machine and calls
// the Handler. So a channel's publications are handed over one at a time
// and in order, and no lock is held while the Handler runs.
//
// Events come from three places: the pub/sub connection's reader (a live
// publication), the connection's goroutine (a subscription became
// active, again after a reconnect), and the history readers (a read
// finished). A full queue blocks the reader, which leaves the backlog in
// the socket and in Redis's output buffer for pub/sub clients, whose
// limit disconnects a node that stays too far behind; the reconnect then
// recovers from history.

const (
	// dispatchQueue is each dispatcher's queue length.
	dispatchQueue = 4096
	// maxHeld caps the live publications a recovering channel holds; past
	// it they are dropped and read back from history.
	maxHeld = 1024
	// recoveryPage is how many publications one recovery read asks for.
	recoveryPage = 1000
)

type eventKind uint8

const (
	evLive eventKind = iota
	evActive
	evRead
	evRetry
)

type event struct {
	kind eventKind
	st   *chanState
	pub  *broker.Publication
	read *readResult
}

type dispatcher struct {
	b  *Broker
	ch chan event
}

func (d *dispatcher) run() {
	defer d.b.wg.Done()
	for {
		select {
		case ev := <-d.ch:
			d.handle(ev)
		case <-d.b.done:
			return
		}
	}
}

// post queues ev; it blocks while the queue is full, and gives up once the
// engine is closed.
func (d *dispatcher) post(ev event) bool {
	select {
	case d.ch <- ev:
		return true
	case <-d.b.done:
		return false
	}
}

func (d *dispatcher) handle(ev event) {
	st := ev.st
	if st.dead.Load() {
		return
	}
	switch ev.kind {
	case evLive:
		d.live(st, ev.pub)
	case evActive:
		// The subscription is (again) active on a connection: whatever was
		// published while it was not must be read back.
		if st.mode == modeLive {
			st.mode = modeRecovering
		}
		d.read(st)
	case evRead:
		d.readDone(st, ev.read)
	case evRetry:
		if st.mode != modeLive {
			d.read(st)
		}
	}
}

// live takes one publication from the pub/sub connection.
func (d *dispatcher) live(st *chanState, p *broker.Publication) {
	if st.mode != modeLive {
		d.hold(st, p)
		return
	}
	if p.Seq == 0 { // ephemeral: no place in the sequence
		d.deliver(p)
		return
	}
	if p.Epoch == st.epoch {
		p.Epoch = st.epoch // share one string, not one per message
		switch {
		case p.Seq <= st.seq:
			return // already delivered (read back from history)
		case p.Seq == st.seq+1:
			st.seq = p.Seq
			d.deliver(p)
			return
		}
	} else if p.Seq == 1 {
		// A new epoch (the stream was created, or expired and began
		// again): the node sees the change and treats it as a gap.
		st.epoch, st.seq = strings.Clone(p.Epoch), 1
		d.deliver(p)
		return
	}
	// A jump on a live link: what lies between is in history.
	d.b.counts.gaps.Add(1)
	st.mode = modeRecovering
	d.hold(st, p)
	d.read(st)
}

// hold keeps p until the channel is live again, within maxHeld.
func (d *dispatcher) hold(st *chanState, p *broker.Publication) {
	if len(st.buf) >= maxHeld {
		clear(st.buf)
		d.b.counts.dropped.Add(uint64(len(st.buf)))
		st.buf = st.buf[:0]
		st.overflow = true
	}
	st.buf = append(st.buf, p)
}

// read asks a history reader for what the channel needs: its position
// (baseline) or the publications after its last seq.
func (d *dispatcher) read(st *chanState) {
	if st.inflight {
		st.again = true
		return
	}
	st.inflight = true
	req := readRequest{st: st, after: st.seq, epoch: st.epoch, limit: recoveryPage}
	if st.mode == modeBaseline {
		req.limit, req.epoch = 0, ""
	}
	d.b.queue.push(req)
}

// readDone applies a finished history read.
func (d *dispatcher) readDone(st *chanState, r *readResult) {
	st.inflight = false
	if r.err != nil {
		d.retryLater(st)
		return
	}
	st.retries = 0
	if st.mode == modeBaseline {
		st.epoch, st.seq = r.state.Epoch, r.state.Top
		st.mode = modeRecovering
	} else {
		if r.state.Epoch != st.epoch {
			st.epoch, st.seq = r.state.Epoch, 0
		}
		for _, p := range r.pubs {
			if p.Seq > st.seq {
				st.seq = p.Seq
				p.Epoch = st.epoch
				d.b.counts.recovered.Add(1)
				d.deliver(p)
			}
		}
	}
	more := r.limit > 0 && len(r.pubs) == r.limit && st.seq < r.state.Top
	if st.again || st.overflow || more {
		st.again, st.overflow = false, false
		d.read(st)
		return
	}
	// Caught up with the stream as history had it after the subscription
	// became active; what was held arrived since, in order. A jump from
	// the last seq read to the first held is what history no longer
	// holds: it is passed on, not read again (it is not there to read).
	held := st.buf
	st.buf = nil
	st.mode = modeLive
	if !st.isReady {
		st.isReady = true
		close(st.ready)
	}
	for i, p := range held {
		held[i] = nil
		if p.Seq != 0 {
			if p.Epoch == st.epoch && p.Seq <= st.seq {
				continue
			}
			if p.Epoch != st.epoch {
				st.epoch = strings.Clone(p.Epoch)
			}
			p.Epoch, st.seq = st.epoch, p.Seq
		}
		d.deliver(p)
	}
}

// retryLater reads again after a pause that grows with each failure: the
// read failed (Redis unreachable), and the held publications wait.
func (d *dispatcher) retryLater(st *chanState) {
	st.retries++
	delay := min(50*time.Millisecond<<min(st.retries, 6), d.b.cfg.ReconnectMaxDelay)
	delay = delay/2 + rand.N(delay/2+1)
	time.AfterFunc(delay, func() { d.post(event{kind: evRetry, st: st}) })
}

func (d *dispatcher) deliver(p *broker.Publication) {
	d.b.counts.delivered.Add(1)
	d.b.handler.OnPublication(p)
}
