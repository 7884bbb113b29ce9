package server

import "testing"

const mb = 1 << 20

// A burst's intervals are busy: no settle lands in its middle, and the
// first quiet interval after it settles the garbage it left.
func TestJanitorSettlesAfterTheBurstNotInIt(t *testing.T) {
	j := janitorState{settled: 5 * mb, backoff: 1}
	for i := range 5 { // 16 MiB messages echoed: 100 MB heap, 64 MB moved per interval
		if j.due(100*mb, 64*mb) {
			t.Fatalf("settled in the middle of a burst (interval %d)", i)
		}
	}
	if !j.due(96*mb, 0) {
		t.Fatal("the first quiet interval after a burst is not due")
	}
	j.settledAt(96*mb, 6*mb)
	if j.backoff != 1 || j.settled != 6*mb {
		t.Fatalf("after a settle that freed 90 MB: backoff %d, settled %d", j.backoff, j.settled)
	}
	if j.due(8*mb, 0) {
		t.Fatal("a small heap is due")
	}
}

// A settle that lands in a burst anyway (its traffic paused) frees little;
// it must not make the burst's size the level the garbage is judged by:
// the janitor settles again within a few intervals of the end.
func TestJanitorSettlesAfterAMidBurstSettle(t *testing.T) {
	j := janitorState{settled: 5 * mb, backoff: 1}
	if !j.due(100*mb, 0) {
		t.Fatal("a heap of 100 MB after 5 settled is not due")
	}
	j.settledAt(100*mb, 95*mb) // the burst's buffers were still live
	ticks := 0
	for !j.due(96*mb, 0) { // the burst is over: garbage, never collected
		if ticks++; ticks > 2 {
			t.Fatalf("not settled again %d intervals after the burst", ticks)
		}
	}
	j.settledAt(96*mb, 6*mb)
	if j.backoff != 1 || j.settled != 6*mb {
		t.Fatalf("after a settle that freed 90 MB: backoff %d, settled %d", j.backoff, j.settled)
	}
}

// A heap that is large because it is in use is settled less and less
// often, down to once per janitorMaxBackoff intervals.
func TestJanitorBacksOffOnALiveHeap(t *testing.T) {
	j := janitorState{settled: 5 * mb, backoff: 1}
	last, gap := 0, 0
	for tick := 1; tick <= 2000; tick++ {
		if j.due(510*mb, mb) {
			gap, last = tick-last, tick
			j.settledAt(510*mb, 505*mb)
		}
	}
	if gap < janitorMaxBackoff {
		t.Fatalf("a live 500 MB heap is settled every %d intervals, want at least %d", gap, janitorMaxBackoff)
	}
}
