package server

import "testing"

// BenchmarkPublish measures Publish alone: seq, history, and the message
// encoded once (no subscribers, so no fan-out).
func BenchmarkPublish(b *testing.B) {
	l, _ := newBenchLoop(b, 0, kindNative)
	data := []byte(`{"text":"hello, world","from":"bench"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := l.srv.Publish("bench", data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPublishAllocatesNothingBeyondTheMessage pins Publish's allocations
// on an inline engine: the message itself (its compacted payload, the
// engine's record), and no per-call timer or context (an engine that never
// waits gets none; they were four of six). The name puts it in make test's
// run without the race detector.
func TestPublishAllocatesNothingBeyondTheMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this test again without -race")
	}
	l, _ := newBenchLoop(t, 0, kindNative)
	data := []byte(`{"text":"hello, world","from":"bench"}`)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := l.srv.Publish("bench", data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("%.1f allocations per Publish, want at most 3", allocs)
	}
}
