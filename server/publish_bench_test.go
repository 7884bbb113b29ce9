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
