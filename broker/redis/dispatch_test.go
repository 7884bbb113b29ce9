package redis

import (
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
)

// The delivery state machine alone: events are fed by hand and history
// reads answered by hand, so every interleaving is exact.
type machine struct {
	t   *testing.T
	b   *Broker
	d   *dispatcher
	rec *brokertest.Recorder
	st  *chanState
}

func newMachine(t *testing.T) *machine {
	rec := brokertest.NewRecorder()
	b := &Broker{cfg: Config{ReconnectMaxDelay: time.Millisecond}.withDefaults(), handler: rec, done: make(chan struct{})}
	b.queue.init()
	d := &dispatcher{b: b, ch: make(chan event, 16)}
	st := &chanState{name: "ch", d: d, ready: make(chan struct{})}
	t.Cleanup(func() { close(b.done); rec.Check(t) })
	return &machine{t: t, b: b, d: d, rec: rec, st: st}
}

func pub(epoch string, seq uint64) *broker.Publication {
	return &broker.Publication{Channel: "ch", Epoch: epoch, Seq: seq}
}

func (m *machine) live(p *broker.Publication) { m.d.handle(event{kind: evLive, st: m.st, pub: p}) }
func (m *machine) active()                    { m.d.handle(event{kind: evActive, st: m.st}) }

// request takes the one read the machine asked for.
func (m *machine) request() readRequest {
	m.t.Helper()
	m.b.queue.mu.Lock()
	defer m.b.queue.mu.Unlock()
	if len(m.b.queue.items) != 1 {
		m.t.Fatalf("%d read requests queued, want 1", len(m.b.queue.items))
	}
	r := m.b.queue.items[0]
	m.b.queue.items = nil
	return r
}

func (m *machine) noRequest() {
	m.t.Helper()
	if n := len(m.b.queue.items); n != 0 {
		m.t.Fatalf("%d read requests queued, want none", n)
	}
}

func (m *machine) answer(req readRequest, epoch string, top uint64, pubs ...*broker.Publication) {
	m.d.handle(event{kind: evRead, st: m.st, read: &readResult{pubs: pubs, state: broker.StreamState{Epoch: epoch, Top: top}, limit: req.limit}})
}

func (m *machine) delivered(want ...uint64) {
	m.t.Helper()
	got := m.rec.Got("ch")
	if len(got) != len(want) {
		m.t.Fatalf("delivered %v, want %v", seqs(got), want)
	}
	for i := range want {
		if got[i].Seq != want[i] {
			m.t.Fatalf("delivered %v, want %v", seqs(got), want)
		}
	}
}

func seqs(ps []*broker.Publication) []uint64 {
	s := make([]uint64, len(ps))
	for i, p := range ps {
		s[i] = p.Seq
	}
	return s
}

func (m *machine) isReady() bool {
	select {
	case <-m.st.ready:
		return true
	default:
		return false
	}
}

// makeLive brings the machine to live at epoch E, seq top.
func (m *machine) makeLive(top uint64) {
	m.active()
	m.answer(m.request(), "E", top)
	if m.st.mode != modeLive || !m.isReady() {
		m.t.Fatal("not live after the baseline")
	}
}

func TestMachineBaseline(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.live(pub("E", 3)) // before the baseline read: held
	m.live(pub("E", 5))
	m.delivered()
	m.active()
	req := m.request()
	if req.limit != 0 || req.epoch != "" {
		t.Fatalf("baseline read %+v, want the state only", req)
	}
	if m.isReady() {
		t.Fatal("ready before the baseline")
	}
	m.answer(req, "E", 4)
	// 3 was published before the read (the Subscribe had not returned);
	// 5 after.
	m.delivered(5)
	if !m.isReady() {
		t.Fatal("not ready after the baseline")
	}
	m.live(pub("E", 6))
	m.live(pub("E", 6)) // a duplicate
	m.delivered(5, 6)
}

func TestMachineNewStream(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.active()
	m.answer(m.request(), "", 0) // no stream yet
	m.live(pub("F", 1))
	m.live(pub("F", 2))
	m.delivered(1, 2)
}

func TestMachineGapOnLiveLink(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(5)
	m.live(pub("E", 7))
	req := m.request()
	if req.after != 5 || req.epoch != "E" || req.limit != recoveryPage {
		t.Fatalf("gap read %+v, want after 5 of E", req)
	}
	m.live(pub("E", 8))
	m.live(&broker.Publication{Channel: "ch", Seq: 0}) // ephemeral, in order
	m.delivered()
	m.answer(req, "E", 7, pub("E", 6), pub("E", 7))
	m.delivered(6, 7, 8, 0)
	if m.b.counts.gaps.Load() != 1 {
		t.Fatal("gap not counted")
	}
}

// After a reconnect, what history holds from after the last delivered
// seq comes first, then the held live ones, each once.
func TestMachineReconnect(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.live(pub("E", 1))
	m.active() // the connection came back
	m.live(pub("E", 4))
	req := m.request()
	if req.after != 1 {
		t.Fatalf("read after %d, want 1", req.after)
	}
	m.answer(req, "E", 4, pub("E", 2), pub("E", 3), pub("E", 4))
	m.delivered(1, 2, 3, 4)
}

// A second loss while a read is under way reads once more.
func TestMachineLossDuringRead(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.active()
	first := m.request()
	m.active()
	m.noRequest()
	m.answer(first, "E", 1, pub("E", 1))
	second := m.request()
	if second.after != 1 {
		t.Fatalf("second read after %d, want 1", second.after)
	}
	m.answer(second, "E", 2, pub("E", 2))
	m.delivered(1, 2)
}

// A full page reads the next; what history lost shows as a jump.
func TestMachinePagesAndLoss(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.active()
	req := m.request()
	page := make([]*broker.Publication, recoveryPage)
	for i := range page {
		page[i] = pub("E", uint64(i+11)) // 1..10 are gone
	}
	m.answer(req, "E", recoveryPage+20, page...)
	next := m.request()
	if next.after != recoveryPage+10 {
		t.Fatalf("next page after %d, want %d", next.after, recoveryPage+10)
	}
	m.answer(next, "E", recoveryPage+20, pub("E", recoveryPage+20))
	got := m.rec.Got("ch")
	if len(got) != recoveryPage+1 || got[0].Seq != 11 || got[len(got)-1].Seq != recoveryPage+20 {
		t.Fatalf("delivered %d, first %d, last %d", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
}

// The stream began again while the link was down: the new epoch is read
// from its start.
func TestMachineEpochChanged(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(7)
	m.active()
	m.answer(m.request(), "F", 2, pub("F", 1), pub("F", 2))
	got := m.rec.Got("ch")
	if len(got) != 2 || got[0].Epoch != "F" || got[0].Seq != 1 || got[1].Seq != 2 {
		t.Fatalf("delivered %v", seqs(got))
	}
	m.live(pub("F", 3))
	m.delivered(1, 2, 3)
}

// A recovering channel holds at most maxHeld live publications; past it
// they are dropped and read back from history.
func TestMachineHeldOverflow(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.active()
	req := m.request()
	for s := uint64(1); s <= maxHeld+10; s++ {
		m.live(pub("E", s))
	}
	if len(m.st.buf) > maxHeld {
		t.Fatalf("holds %d, cap %d", len(m.st.buf), maxHeld)
	}
	m.answer(req, "E", 5, pub("E", 1), pub("E", 2), pub("E", 3), pub("E", 4), pub("E", 5))
	again := m.request() // held ones were dropped: read on
	if again.after != 5 {
		t.Fatalf("read after %d, want 5", again.after)
	}
	rest := make([]*broker.Publication, 0, maxHeld)
	for s := uint64(6); s <= maxHeld+10; s++ {
		rest = append(rest, pub("E", s))
	}
	m.answer(again, "E", maxHeld+10, rest...)
	got := m.rec.Got("ch")
	if len(got) != maxHeld+10 {
		t.Fatalf("delivered %d, want %d", len(got), maxHeld+10)
	}
	if m.b.counts.dropped.Load() == 0 {
		t.Fatal("drops not counted")
	}
}

// A failed read is retried after a pause; the held ones wait.
func TestMachineReadErrorRetries(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.active()
	req := m.request()
	m.live(pub("E", 2))
	m.d.handle(event{kind: evRead, st: m.st, read: &readResult{err: errBadPayload, limit: req.limit}})
	m.noRequest()
	select {
	case ev := <-m.d.ch:
		m.d.handle(ev)
	case <-time.After(brokertest.WaitTimeout):
		t.Fatal("no retry")
	}
	m.answer(m.request(), "E", 2, pub("E", 1), pub("E", 2))
	m.delivered(1, 2)
}

func TestMachineDeadChannel(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(0)
	m.st.dead.Store(true)
	m.live(pub("E", 1))
	m.active()
	m.noRequest()
	m.delivered()
}

// What history no longer holds (here: a channel without history) shows
// as a jump, once: it is not read again and again.
func TestMachineJumpWhenHistoryHasNothing(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	m.makeLive(5)
	m.active()
	req := m.request()
	m.live(pub("E", 8))
	m.live(pub("E", 9))
	m.answer(req, "E", 8) // top 8, nothing kept
	m.noRequest()
	m.delivered(8, 9)
	m.live(pub("E", 10))
	m.delivered(8, 9, 10)
}
