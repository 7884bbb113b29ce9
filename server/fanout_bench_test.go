package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/panjf2000/gnet/v2"
)

// countingConn stands in for a gnet connection in delivery benchmarks: it
// counts the bytes "written" and has nothing queued. Every other gnet.Conn
// method panics, which proves the delivery path calls only these.
type countingConn struct {
	gnet.Conn
	bytes int
}

func (c *countingConn) Write(p []byte) (int, error) { c.bytes += len(p); return len(p), nil }
func (c *countingConn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	c.bytes += n
	return n, nil
}
func (c *countingConn) OutboundBuffered() int { return 0 }

// newBenchLoop builds a loop with n subscribers of one channel on fake
// connections of the given kind.
func newBenchLoop(tb testing.TB, n int, kind sessionKind) (*loop, *message) {
	srv, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	l := newLoop(srv, 0, nil)
	srv.loops.Store(&[]*loop{l})
	ch, err := srv.channels.lockChannel([]byte("bench"), srv.cfg.MaxChannels)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i++ {
		s := &session{gc: &countingConn{}, loop: l, kind: kind}
		s.timer.Owner = s
		if kind != kindNative {
			s.stream = &streamState{callback: "cb"}
		}
		l.addSession(s)
		l.subscribe(s, ch, 0)
	}
	ch.mu.Unlock()
	m := newMessage(ch, 1, 1795317946582, []byte(`{"text":"hello, world","from":"bench"}`))
	return l, m
}

// BenchmarkDeliver measures the per-loop fan-out: one message written to
// 1,000 local subscribers. allocs/op must be 0 in steady state.
func BenchmarkDeliver(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind sessionKind
	}{{"ws", kindNative}, {"sse", kindSSE}, {"stream", kindStream}, {"iframe", kindIframe}} {
		b.Run(tc.name, func(b *testing.B) {
			const subs = 1000
			l, m := newBenchLoop(b, subs, tc.kind)
			l.deliver(m) // build the lazy HTTP formats once
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.seq = uint64(i + 2) // stay above every subscriber's start
				l.deliver(m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
		})
	}
}

// TestDeliverAllocatesNothing pins the zero-allocation promise of the
// fan-out in a test, not only in a benchmark.
func TestDeliverAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this test again without -race")
	}
	for _, kind := range []sessionKind{kindNative, kindSSE, kindStream, kindIframe} {
		l, m := newBenchLoop(t, 100, kind)
		l.deliver(m)
		seq := uint64(1)
		allocs := testing.AllocsPerRun(100, func() {
			seq++
			m.seq = seq
			l.deliver(m)
		})
		if allocs != 0 {
			t.Errorf("kind %d: %.1f allocations per fan-out to 100 subscribers, want 0", kind, allocs)
		}
	}
}

// BenchmarkPublishEndToEnd publishes to 200 real WebSocket subscribers on
// loopback and waits until each has read the message: the whole path,
// syscalls included. Figures are for comparisons in one run only.
func BenchmarkPublishEndToEnd(b *testing.B) {
	const subs = 200
	srv := startServer(b, Config{Loops: 2, MaxOutboundBytes: 64 << 20})
	done := make(chan int, subs)
	for i := 0; i < subs; i++ {
		c, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		_ = wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"e2e"}`))
		if _, err := wsutil.ReadServerText(c); err != nil {
			b.Fatal(err)
		}
		go func() {
			for {
				if _, err := wsutil.ReadServerText(c); err != nil {
					return
				}
				done <- 1
			}
		}()
	}
	payload := []byte(`{"text":"hello"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := srv.Publish("e2e", payload); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < subs; j++ {
			<-done
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
}
