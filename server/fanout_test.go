package server

import (
	"bytes"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/protocol"
)

// The fan-out's inlined common case (fanOut.next and the shared bytes)
// must decide exactly what the general path (offer, take, pass) decides.

// at puts subscriber i of newBenchLoop's loop at (epoch, seq).
func at(l *loop, i int, epoch string, seq uint64) *sessionSub {
	ss := &l.sessions[i].subs[0]
	ss.epoch, ss.seq = epoch, seq
	return ss
}

func written(l *loop, i int) *countingConn { return l.sessions[i].gc.(*countingConn) }

// TestDeliverMatchesTake: for every streaming transport, what deliver
// writes to a subscriber at the next seq is what the general path (take)
// writes, byte for byte, plain and compressed.
func TestDeliverMatchesTake(t *testing.T) {
	for _, k := range []kind{kindNative, kindSSE, kindStream, kindIframe} {
		fast, m := newBenchLoop(t, 4, k)
		slow, _ := newBenchLoop(t, 4, k)
		if k == kindNative {
			deflateSessions(fast, 2)
			deflateSessions(slow, 2)
		}
		m.pub.Seq = 7
		for i := range fast.sessions {
			at(fast, i, "e.1", 6)
			ss := at(slow, i, "e.1", 6)
			if step := slow.sessions[i].take(ss, m); step != protocol.LiveDeliver {
				t.Fatalf("kind %d: take said %d", k, step)
			}
		}
		fast.deliver(m)
		for i := range fast.sessions {
			f, s := written(fast, i), written(slow, i)
			if f.bytes == 0 || f.bytes != s.bytes || !bytes.Equal(f.last[:f.lastN], s.last[:s.lastN]) {
				t.Errorf("kind %d, subscriber %d: deliver wrote %d bytes %q, take %d %q",
					k, i, f.bytes, f.last[:f.lastN], s.bytes, s.last[:s.lastN])
			}
			if ss := &fast.sessions[i].subs[0]; ss.epoch != "e.1" || ss.seq != 7 {
				t.Errorf("kind %d, subscriber %d: at %s/%d after deliver, want e.1/7", k, i, ss.epoch, ss.seq)
			}
		}
	}
}

// TestDeliverCases: the next message, one already had or passed by a
// replay, a subscription waiting for its join, and a gap.
func TestDeliverCases(t *testing.T) {
	l, m := newBenchLoop(t, 6, kindNative)
	m.pub.Seq = 5
	at(l, 0, "e.1", 4)                                     // next: written
	at(l, 1, "e.1", 5)                                     // had it: skipped
	at(l, 2, "e.1", 9)                                     // past it (a replay ran ahead): skipped
	at(l, 3, "e.1", 4).join = &joinWait{}                  // joining: held
	at(l, 4, string(protocol.AppendEmptyEpoch(nil, 1)), 4) // on no stream, not seq 1: a gap (resynced)
	at(l, 5, "e.1", 4)
	l.sessions[5].who = &who{conn: "c5"} // an identified connection, not the publisher: written
	resyncs := l.srv.stats.resyncs.Load()
	l.deliver(m)
	if n := l.srv.stats.resyncs.Load() - resyncs; n != 1 {
		t.Errorf("%d resyncs, want 1 (the gap)", n)
	}
	for i, want := range []int{len(m.frame), 0, 0, 0, -1, len(m.frame)} {
		if got := written(l, i).bytes; want >= 0 && got != want {
			t.Errorf("subscriber %d: %d bytes written, want %d", i, got, want)
		}
	}
	if c := written(l, 4); c.lastN > 0 && bytes.Equal(c.last[:c.lastN], m.frame[:c.lastN]) {
		t.Errorf("the subscriber with a gap was written the message")
	}
	for i, want := range []uint64{5, 5, 9, 4, 0, 5} { // the resync moves subscriber 4
		if got := l.sessions[i].subs[0].seq; i != 4 && got != want {
			t.Errorf("subscriber %d at seq %d, want %d", i, got, want)
		}
	}
	if h := l.sessions[3].subs[0].join.held; len(h) != 1 || h[0] != m {
		t.Errorf("the joining subscriber holds %d messages, want this one", len(h))
	}
}

// TestDeliverOwnAndEphemeral: the publishing connection is not sent its
// message but moves past it; an ephemeral message (seq 0) reaches every
// other subscriber and moves nobody.
func TestDeliverOwnAndEphemeral(t *testing.T) {
	l, _ := newBenchLoop(t, 3, kindNative)
	for i := range l.sessions {
		at(l, i, "e.1", 4)
		l.sessions[i].who = &who{conn: string(rune('a' + i))}
	}
	from := &broker.ClientInfo{Conn: "a"}
	own := messageOf(&broker.Publication{Channel: "bench", Epoch: "e.1", Seq: 5, Time: 1, Data: []byte(`1`), Publisher: from})
	l.deliver(own)
	eph := messageOf(&broker.Publication{Channel: "bench", Time: 2, Data: []byte(`2`), Publisher: from})
	l.deliver(eph)
	for i, want := range []int{0, len(own.frame) + len(eph.frame), len(own.frame) + len(eph.frame)} {
		if got := written(l, i).bytes; got != want {
			t.Errorf("subscriber %d: %d bytes written, want %d", i, got, want)
		}
		if got := l.sessions[i].subs[0].seq; got != 5 {
			t.Errorf("subscriber %d at seq %d, want 5", i, got)
		}
	}
}

// TestDeliverAdoptsAStream: a subscriber on an empty epoch (a channel
// with no stream when it joined) is told the stream's epoch, then gets its
// first message, in one write, and is on the stream's epoch after.
func TestDeliverAdoptsAStream(t *testing.T) {
	l, m := newBenchLoop(t, 1, kindNative)
	empty := string(protocol.AppendEmptyEpoch(nil, 1))
	at(l, 0, empty, 0)
	l.deliver(m) // seq 1 of e.1
	ev := protocol.AppendEpochEvent(nil, "bench", "e.1")
	if got, want := written(l, 0).bytes, len(m.frame)+len(ev)+2; got != want {
		t.Errorf("%d bytes written, want %d (the epoch event's frame, then the message)", got, want)
	}
	if c := written(l, 0); c.lastN == 0 || !bytes.Equal(c.last[:c.lastN], m.frame[:c.lastN]) {
		t.Errorf("last buffer written %q is not the message", c.last[:c.lastN])
	}
	if c := written(l, 0); c.calls != 1 {
		t.Errorf("%d writes, want 1 (the epoch event and the message together)", c.calls)
	}
	if ss := &l.sessions[0].subs[0]; ss.epoch != "e.1" || ss.seq != 1 {
		t.Errorf("at %s/%d, want e.1/1", ss.epoch, ss.seq)
	}
}

// TestReplayLeavesInOneWrite: a join's replay of several messages is one
// writev to the subscriber, not one write each, and moves it to the last.
func TestReplayLeavesInOneWrite(t *testing.T) {
	l, m := newBenchLoop(t, 1, kindNative)
	at(l, 0, "e.1", 0)
	want := 0
	for seq := uint64(1); seq <= 5; seq++ {
		r := m
		if seq > 1 {
			r = messageOf(&broker.Publication{Channel: "bench", Epoch: "e.1", Seq: seq, Time: 1, Data: []byte(`{"n":1}`)})
		}
		l.replay = append(l.replay, r)
		want += len(r.frame)
	}
	l.sessions[0].writeReplay(0, 5)
	c := written(l, 0)
	if c.calls != 1 || c.bytes != want {
		t.Errorf("%d writes of %d bytes, want 1 of %d", c.calls, c.bytes, want)
	}
	if ss := &l.sessions[0].subs[0]; ss.seq != 5 {
		t.Errorf("at seq %d after the replay, want 5", ss.seq)
	}
	if len(l.replay) != 0 || l.cork != nil {
		t.Errorf("replay left %d messages, cork %v", len(l.replay), l.cork != nil)
	}
}
