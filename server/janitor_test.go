package server

import "testing"

// A settle in the middle of a burst must not keep the burst's garbage
// resident: the janitor settles again within a few intervals of the end.
func TestJanitorSettlesAfterAMidBurstSettle(t *testing.T) {
	const mb = 1 << 20
	j := janitorState{settled: 5 * mb, backoff: 1}
	if !j.due(100 * mb) {
		t.Fatal("a heap of 100 MB after 5 settled is not due")
	}
	j.settledAt(100*mb, 95*mb) // the burst's buffers were still live
	ticks := 0
	for !j.due(96 * mb) { // the burst is over: garbage, never collected
		if ticks++; ticks > 6 {
			t.Fatalf("not settled again %d intervals after the burst", ticks)
		}
	}
	j.settledAt(96*mb, 6*mb)
	if j.backoff != 1 || j.settled != 6*mb {
		t.Fatalf("after a settle that freed 90 MB: backoff %d, settled %d", j.backoff, j.settled)
	}
	if j.due(8 * mb) {
		t.Fatal("a small heap is due")
	}
}

// A heap that is large because it is in use is settled less and less
// often, down to once per janitorMaxBackoff intervals.
func TestJanitorBacksOffOnALiveHeap(t *testing.T) {
	const mb = 1 << 20
	j := janitorState{settled: 500 * mb, backoff: 1}
	last, gap := 0, 0
	for tick := 1; tick <= 2000; tick++ {
		if j.due(510 * mb) {
			gap, last = tick-last, tick
			j.settledAt(510*mb, 505*mb)
		}
	}
	if gap < janitorMaxBackoff {
		t.Fatalf("a live 500 MB heap is settled every %d intervals, want at least %d", gap, janitorMaxBackoff)
	}
}
