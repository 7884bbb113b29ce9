package server

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/comet-im/comet/broker"
)

// callConn counts write calls and keeps everything written.
type callConn struct {
	countingConn
	writes, writevs int
	out             bytes.Buffer
}

func (c *callConn) Write(p []byte) (int, error) {
	c.writes++
	c.out.Write(p)
	return c.countingConn.Write(p)
}

func (c *callConn) Writev(bs [][]byte) (int, error) {
	c.writevs++
	for _, b := range bs {
		c.out.Write(b)
	}
	return c.countingConn.Writev(bs)
}

// batchMessages returns n messages of channel "bench" from seq first on.
func batchMessages(first, n int) []*message {
	out := make([]*message, n)
	for i := range out {
		out[i] = messageOf(&broker.Publication{Channel: "bench", Epoch: "e.1", Seq: uint64(first + i), Time: 1795317946582,
			Data: []byte(`{"n":` + strconv.Itoa(first+i) + `}`)})
	}
	return out
}

// Messages of one channel that come in one drain leave in one writev per
// subscriber, in order, on every streaming transport; a message alone in
// its drain takes the direct path.
func TestBatchCoalescesWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind kind
	}{{"ws", kindNative}, {"sse", kindSSE}, {"stream", kindStream}, {"iframe", kindIframe}} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newBenchLoop(t, 3, tc.kind)
			conns := make([]*callConn, 0, 3)
			for _, s := range l.sessions {
				c := &callConn{}
				s.gc = c
				conns = append(conns, c)
			}
			batch := batchMessages(1, 10)
			batch = append(batch, messageOf(&broker.Publication{Channel: "elsewhere", Epoch: "x", Seq: 1, Data: []byte(`1`)}))
			l.deliverBatch(batch)
			for i, c := range conns {
				if c.writevs != 1 || (tc.kind != kindSSE && c.writes != 0) {
					t.Fatalf("subscriber %d: %d writes, %d writevs for a batch of 10; want one writev", i, c.writes, c.writevs)
				}
				out := c.out.String()
				last := -1
				for n := 1; n <= 10; n++ {
					at := bytes.Index([]byte(out), []byte(`"data":{"n":`+strconv.Itoa(n)+`}`))
					if at <= last {
						t.Fatalf("subscriber %d: message %d at %d, after %d: out of order or missing\n%s", i, n, at, last, out)
					}
					last = at
				}
				if c.bytes != c.out.Len() {
					t.Fatalf("byte count %d, written %d", c.bytes, c.out.Len())
				}
				if ss := &l.sessions[i].subs[0]; ss.seq != 10 {
					t.Fatalf("subscriber %d at seq %d after the batch", i, ss.seq)
				}
			}
			// Alone in its drain: one direct write (SSE: its writev of id and event).
			l.deliverBatch(batchMessages(11, 1))
			for i, c := range conns {
				if calls := c.writes + c.writevs; calls != 2 {
					t.Fatalf("subscriber %d: %d calls after a lone message, want 2", i, calls)
				}
			}
		})
	}
}

// A long drain is shared out in runs of corkRun: every subscriber gets the
// first run before any gets the second, so the last of many subscribers
// does not wait for the others' whole backlog (a client's read timeout on
// a busy machine, before).
func TestBatchTakesTurns(t *testing.T) {
	l, _ := newBenchLoop(t, 2, kindNative)
	var turns []int // the subscriber of each writev, in order
	for i, s := range l.sessions {
		s.gc = &turnConn{who: i, turns: &turns}
	}
	l.deliverBatch(batchMessages(1, 3*corkRun))
	want := []int{0, 1, 0, 1, 0, 1}
	if len(turns) != len(want) {
		t.Fatalf("writevs by subscriber %v, want %v", turns, want)
	}
	for i := range want {
		if turns[i] != want[i] {
			t.Fatalf("writevs by subscriber %v, want %v", turns, want)
		}
	}
}

// turnConn notes which subscriber each writev was for.
type turnConn struct {
	countingConn
	who   int
	turns *[]int
}

func (c *turnConn) Writev(bs [][]byte) (int, error) {
	*c.turns = append(*c.turns, c.who)
	return c.countingConn.Writev(bs)
}

// A batch with a gap in it stops at the gap for that subscriber: what
// follows is read by the resync, in order, never written out of turn.
func TestBatchStopsAtAGap(t *testing.T) {
	l, _ := newBenchLoop(t, 1, kindNative)
	c := &callConn{}
	l.sessions[0].gc = c
	batch := append(batchMessages(1, 2), batchMessages(5, 2)...) // 3 and 4 are missing
	l.deliverMany(l.hub.get("bench"), batch)
	out := c.out.Bytes()
	if !bytes.Contains(out, []byte(`"n":1}`)) || !bytes.Contains(out, []byte(`"n":2}`)) {
		t.Fatalf("the messages before the gap were not written: %s", out)
	}
	if bytes.Contains(out, []byte(`"n":5`)) || bytes.Contains(out, []byte(`"n":6`)) {
		t.Fatalf("a message past the gap was written: %s", out)
	}
}

// The coalesced fan-out allocates nothing in steady state either.
func TestBatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this test again without -race")
	}
	for _, k := range []kind{kindNative, kindSSE, kindStream, kindIframe} {
		l, _ := newBenchLoop(t, 50, k)
		batch := batchMessages(1, 8)
		l.deliverBatch(batch) // warm the lazy formats and the loop's buffers
		seq := 8
		allocs := testing.AllocsPerRun(50, func() {
			for _, m := range batch {
				seq++
				m.pub.Seq = uint64(seq)
			}
			l.deliverBatch(batch)
		})
		if allocs != 0 {
			t.Errorf("kind %d: %.1f allocations per batch of 8 to 50 subscribers, want 0", k, allocs)
		}
	}
}

// BenchmarkDeliverBatch is BenchmarkDeliver for a busy room: 16 messages
// of one channel in one drain, to 1,000 subscribers.
func BenchmarkDeliverBatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind kind
	}{{"ws", kindNative}, {"sse", kindSSE}} {
		b.Run(tc.name, func(b *testing.B) {
			const subs, per = 1000, 16
			l, _ := newBenchLoop(b, subs, tc.kind)
			batch := batchMessages(1, per)
			l.deliverBatch(batch)
			seq := per
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, m := range batch {
					seq++
					m.pub.Seq = uint64(seq)
				}
				l.deliverBatch(batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs*per), "ns/delivery")
		})
	}
}
